"""Differential test: the verify model against the ``openssl verify`` command line.

Every chain of a generated matrix (all cases with at most two faults, then seeded samples with
more) is judged by ``verify_chain`` and by ``openssl verify -partial_chain -purpose sslclient
[-crl_check_all]``. They must agree unless a DIVERGENCES pattern matches the case id AND its check
shows the difference is exactly the documented one (docs/verify-divergences.md). With revocation
on, every CA has a CRL, the root too: ``-crl_check_all`` wants one for each certificate.
"""

from __future__ import annotations

import itertools
import random
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from conftest import require_program
from factory import DAY, NOW, Issued, bundle, make_ca, make_crl, make_leaf, pem
from mtls_doctor import load_trust_store
from mtls_doctor.verify import Code, Verdict, verify_chain

DIMENSIONS: dict[str, tuple[Any, ...]] = {  # the first value of each is the healthy one
    "leaf_time": ("valid", "expired", "future"),
    "inter_expired": (False, True),
    "root_expired": (False, True),
    "leaf_eku": ("clientAuth", "serverAuth", "none", "anyEKU"),
    "leaf_ku": ("digitalSignature", "keyEncipherment", "none"),
    "inter_eku": ("none", "clientAuth", "serverAuth"),
    "inter_ca": ("true", "false", "absent"),
    "inter_certsign": (True, False),
    "root_pathlen": (None, 0, 1),
    "depth": (1, 2),  # intermediates between the root and the leaf
    "revoke": ("off", "nothing", "leaf", "inter"),  # off: no CRLs; else every CA has one
    # sent: the client sends leaf+intermediates, bundle = root; missing: the client sends the
    # leaf alone; anchor: bundle = the top intermediate alone; both: bundle = root + the top
    # intermediate, which the client sends too; leaf: bundle = root + the leaf.
    "topology": ("sent", "missing", "anchor", "both", "leaf"),
}
SAMPLED = {3: 120, 4: 100}  # how many cases with 3 faults, and with 4 or more, by a fixed seed
SEED = 5280


@dataclass(frozen=True)
class Case:
    """One chain; the intermediate dimensions apply to Inter 1, the leaf's issuer."""

    leaf_time: str
    inter_expired: bool
    root_expired: bool
    leaf_eku: str
    leaf_ku: str
    inter_eku: str
    inter_ca: str
    inter_certsign: bool
    root_pathlen: int | None
    depth: int
    revoke: str
    topology: str

    @property
    def id(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))

    @property
    def anchor_depth(self) -> int:
        return self.depth if self.topology in ("anchor", "both") else self.depth + 1


def matrix() -> list[Case]:
    healthy, sick = [d[0] for d in DIMENSIONS.values()], [d[1:] for d in DIMENSIONS.values()]
    rows: list[tuple[Any, ...]] = []
    for k in range(4):  # every case that differs from the healthy one in k dimensions
        group = []
        for dims in itertools.combinations(range(len(healthy)), k):
            for values in itertools.product(*(sick[i] for i in dims)):
                changes = dict(zip(dims, values, strict=True))
                group.append(tuple(changes.get(i, v) for i, v in enumerate(healthy)))
        rows += random.Random(SEED).sample(group, SAMPLED[k]) if k in SAMPLED else group
    rng, many = random.Random(SEED), set[tuple[Any, ...]]()
    while len(many) < SAMPLED[4]:
        row = tuple(rng.choice(d) for d in DIMENSIONS.values())
        if sum(v != h for v, h in zip(row, healthy, strict=True)) >= 4:
            many.add(row)
    return [Case(*row) for row in rows + sorted(many, key=str)]


EKUS = {"clientAuth": [ExtendedKeyUsageOID.CLIENT_AUTH], "none": None,
        "serverAuth": [ExtendedKeyUsageOID.SERVER_AUTH],
        "anyEKU": [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]}
KUS = {"digitalSignature": ("digital_signature",), "keyEncipherment": ("key_encipherment",),
       "none": None}
TIMES: dict[str, dict[str, Any]] = {
    "valid": {}, "expired": {"not_before": NOW - 30 * DAY, "not_after": NOW - DAY},
    "future": {"not_before": NOW + DAY, "not_after": NOW + 30 * DAY}}


def build(case: Case) -> tuple[list[Issued], list[Issued], list[x509.CertificateRevocationList]]:
    """What the client sends (leaf first), what the bundle holds, and the CRLs."""
    cas = [make_ca("Root", key="p256", path_length=case.root_pathlen,
                   **TIMES["expired" if case.root_expired else "valid"])]  # top down
    for level in range(case.depth, 0, -1):
        odd = level == 1
        cas.append(make_ca(
            f"Inter {level}", issuer=cas[-1], key="p256",
            ca={"true": True, "false": False, "absent": None}[case.inter_ca] if odd else True,
            key_usage=("key_cert_sign" if case.inter_certsign or not odd else "digital_signature",
                       "crl_sign"),
            eku=EKUS[case.inter_eku] if odd else None,
            **TIMES["expired" if odd and case.inter_expired else "valid"]))
    leaf = make_leaf("Leaf", cas[-1], key="p256", eku=EKUS[case.leaf_eku],
                     key_usage=KUS[case.leaf_ku], **TIMES[case.leaf_time])
    root, inters = cas[0], cas[:0:-1]  # Inter 1 first
    sent = {"missing": [leaf], "anchor": [leaf, *inters[:-1]]}.get(case.topology,
                                                                  [leaf, *inters])
    trusted = {"anchor": [inters[-1]], "both": [root, inters[-1]], "leaf": [root, leaf]}.get(
        case.topology, [root])
    crl_issuer, revoked = {"leaf": (inters[0], leaf), "inter": (cas[-2], inters[0])}.get(
        case.revoke, (None, None))
    crls = [] if case.revoke == "off" else [
        make_crl(ca, [revoked.cert.serial_number] if revoked and ca is crl_issuer else [])
        for ca in cas]
    return sent, trusted, crls


ERROR_LINE = re.compile(r"^(?:\[CRL path\] )?error (\d+) at (\d+) depth lookup: (.*)$", re.M)
IGNORED = {11, 12, 15, 16}  # CRL not yet valid, CRL has expired, bad last/nextUpdate field
CODES = {10: Code.EXPIRED, 9: Code.NOT_YET_VALID, 23: Code.CRL_HIT, 26: Code.PURPOSE_INVALID,
         3: Code.CRL_PROCESSING_ERROR,  # unable to get certificate CRL
         8: Code.CRL_PROCESSING_ERROR,  # CRL signature failure
         33: Code.CRL_PROCESSING_ERROR}  # unable to get CRL issuer
PURPOSE = 26  # "unsuitable certificate purpose"


class Error(NamedTuple):
    number: int  # X509_V_ERR_*
    depth: int
    text: str


def status(errors: list[Error]) -> str:
    """The first error as a tls_verify_status; an error not in CODES is ClientCertUntrusted."""
    if not errors:
        return "Success"
    return f"Failed:{CODES.get(errors[0].number, Code.UNTRUSTED).value}"


def openssl_verify(workdir: Path, *, purpose: bool, untrusted: bool, crls: bool) -> list[Error]:
    """The errors in the order met. ``verify``'s callback goes on after some errors (expiry,
    invalid CA, path length, purpose), so the first is what a verifier that stops reports."""
    args = [require_program("openssl"), "verify", "-partial_chain", "-attime",
            str(int(NOW.timestamp())), "-CAfile", "bundle.pem"]
    args += ["-purpose", "sslclient"] if purpose else []
    args += ["-untrusted", "untrusted.pem"] if untrusted else []
    args += ["-crl_check_all", "-CRLfile", "crls.pem"] if crls else []
    done = subprocess.run([*args, "leaf.pem"], cwd=workdir, capture_output=True, text=True,
                          check=False)
    errors = [Error(int(m[1]), int(m[2]), m[3]) for m in ERROR_LINE.finditer(done.stderr)]
    assert (done.returncode == 0) == (not errors), f"{workdir}: {done.stdout}{done.stderr}"
    return [e for e in errors if e.number not in IGNORED]


@dataclass(frozen=True)
class Result:
    case: Case
    verdict: Verdict
    raw: list[Error]  # the oracle: with -purpose sslclient
    chain: list[Error]  # without -purpose: X509_verify_cert as s2n calls it
    alone: list[Error]  # leaf-in-bundle cases only: no -untrusted, no -purpose

    @property
    def ours(self) -> str:
        return self.verdict.tls_verify_status

    def in_model_order(self) -> str:
        """openssl's answers in s2n's order: the chain first, then the intent of every
        certificate but the anchor."""
        if self.chain:
            return status(self.chain)
        anchor = (PURPOSE, self.case.anchor_depth)
        return status([e for e in self.raw if e[:2] != anchor])


def prepare(case: Case, workdir: Path) -> tuple[Verdict, dict[str, bool]]:
    """Write the files openssl reads; the model's verdict, and openssl's flags."""
    sent, trusted, crls = build(case)
    workdir.mkdir()
    for name, data in {"bundle.pem": bundle(*trusted), "untrusted.pem": bundle(*sent[1:]),
                       "leaf.pem": sent[0].pem, "crls.pem": b"".join(map(pem, crls))}.items():
        (workdir / name).write_bytes(data)
    store = load_trust_store(bundle(*trusted), crls=[pem(c) for c in crls])
    verdict = verify_chain([i.der for i in sent], store, at=NOW)
    return verdict, {"untrusted": len(sent) > 1, "crls": bool(crls)}


def oracle(case: Case, workdir: Path, flags: dict[str, bool]) -> tuple[list[Error], ...]:
    alone = (openssl_verify(workdir, purpose=False, untrusted=False, crls=flags["crls"])
             if case.topology == "leaf" else [])
    return (openssl_verify(workdir, purpose=True, **flags),
            openssl_verify(workdir, purpose=False, **flags), alone)


class Divergence(NamedTuple):
    name: str
    reason: str
    holds: Callable[[Result], bool]  # the difference is exactly the one explained


DIVERGENCES: dict[str, Divergence] = {  # case id pattern -> why openssl and the model differ
    r"inter_eku=serverAuth .*depth=1 .*topology=(anchor|both)": Divergence(
        "anchor-purpose", "openssl -purpose checks the trust anchor's extendedKeyUsage too; "
        "s2n's intent check skips the anchor (verify-model.md, Order, 3; alb-facts.md §1)",
        lambda r: any(e[:2] == (PURPOSE, r.case.anchor_depth) for e in r.raw)
        and r.ours == r.in_model_order()),
    r"leaf_eku=(serverAuth|anyEKU)|leaf_ku=keyEncipherment|inter_eku=serverAuth": Divergence(
        "purpose-order", "openssl checks purpose with the chain's extensions, before the CA "
        "flags of higher certificates, revocation and times; s2n checks intent only after "
        "X509_verify_cert succeeded (verify-model.md, Order, steps 2-3; alb-facts.md §8)",
        lambda r: r.raw[:1] != [] and r.raw[0].number == PURPOSE
        and r.ours == r.in_model_order()),
    r"inter_ca=absent inter_certsign=True .*depth=1 .*topology=(anchor|both)": Divergence(
        "anchor-without-basic-constraints", "OpenSSL 3 accepts a top certificate without "
        "basicConstraints whose keyUsage has keyCertSign; the model applies AWS-LC's "
        "X509_check_ca (cA=TRUE or a v1 root) to the anchor too (verify-model.md, Order, 2)",
        lambda r: r.verdict.code is Code.UNTRUSTED and "not a CA" in r.verdict.reason
        and r.verdict.problems[0].certificate == r.case.anchor_depth + 1),
    r"topology=leaf$": Divergence(
        "leaf-in-bundle", "openssl verifies the whole chain above a leaf the bundle holds; "
        "the model verifies it as a one-certificate path with no intent check "
        "(verify-model.md, Decisions: 'A client certificate that is itself in the bundle')",
        lambda r: r.ours == status(r.alone)),
}


def explain(result: Result) -> str | None:
    """'agree', the name of the divergence behind a difference, or None."""
    if result.ours == status(result.raw):
        return "agree"
    for pattern, why in DIVERGENCES.items():
        if re.search(pattern, result.case.id) and why.holds(result):
            return why.name
    return None


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[Result]:
    require_program("openssl")
    base = tmp_path_factory.mktemp("openssl-verify")
    cases = [(case, base / str(n)) for n, case in enumerate(matrix())]
    prepared = [(case, path, *prepare(case, path)) for case, path in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:  # ~10 ms an openssl call
        answers = list(pool.map(lambda p: oracle(p[0], p[1], p[3]), prepared))
    return [Result(p[0], p[2], *a) for p, a in zip(prepared, answers, strict=True)]


def test_matrix_is_large_and_has_no_duplicates() -> None:
    assert len(set(map(astuple, matrix()))) == len(matrix()) >= 200


def test_model_agrees_with_openssl(results: list[Result]) -> None:
    tally = Counter(explain(r) for r in results)
    designed = {d.name for d in DIVERGENCES.values()}
    print(f"\nopenssl verify differential: {len(results)} cases, {tally['agree']} agree, "
          f"{sum(tally[n] for n in designed)} divergent by design: {dict(tally)}")
    wrong = [f"{r.case.id}\n  openssl {status(r.raw)} {r.raw[:2]}, without -purpose "
             f"{status(r.chain)}; model {r.ours}: {r.verdict.reason}"
             for r in results if explain(r) is None]
    assert not wrong, f"{len(wrong)} of {len(results)} cases disagree:\n" + "\n".join(wrong)
    assert not designed - set(tally), f"divergences no case shows: {designed - set(tally)}"


def test_divergences_are_documented() -> None:
    text = (Path(__file__).parents[1] / "docs" / "verify-divergences.md").read_text()
    assert [d.name for d in DIVERGENCES.values() if d.name not in text] == []
