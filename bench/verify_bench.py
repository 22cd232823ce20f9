"""Benchmark `verify_chain` against cryptography's Rust verifier, and CRL loading vs openssl.

Built first, not timed (`cryptography`, EC P-256): a bundle of 25 CAs; N chains [leaf, issuing
CA] round-robin over the issuing CAs (leaves: clientAuth, digitalSignature, DNS SAN); a CRL of M
entries from the first issuing CA (random serials and every 10th of its leaves, so some verdicts
are Failed:ClientCertCrlHit). --layout anchors: 5 roots and their 20 intermediates, all in the
bundle; --layout roots: 25 roots, each with one intermediate only the clients send.
Timed in one run (`time.perf_counter`, median and min of --repeat runs):

* batch ours: `verify_chain` over the N chains (DER) on a fresh store, Verifier and revoked-serial
  index built in the time ("first call" row); also with no CRL. batch rust: `PolicyBuilder()
  .store(Store(bundle)).time(t).build_client_verifier()`, `.verify(leaf, [ca])` per chain from
  the same DER (no CRLs: it cannot use them). Target: throughput ours/rust >= 1.0.
* crl ours: a `python -c` process loading the store with the CRL and verifying one chain under
  its issuer (so the index is built); crl openssl: `openssl crl -in F -noout`. Target: <= 2.0.
  In-process: `load_trust_store` with the CRL; index build (1st minus 2nd verify under it).

Run from the repository root with the venv interpreter (about 1.5 minutes):

    .venv/bin/python bench/verify_bench.py [--chains 10000] [--crl-entries 100000]
        [--layout anchors|roots] [--repeat 3] [--repeat-crl 7] [--json]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from common import BenchError, finish, precompile
from mtls_doctor import load_trust_store
from mtls_doctor.verify import Verifier, verify_chain

NOW = datetime.now(UTC).replace(microsecond=0)
AT = NOW + timedelta(hours=1)
LAYOUTS = {"anchors": (5, 4), "roots": (25, 1)}  # roots, intermediates per root
CRL_PROCESS = ("import sys\nfrom mtls_doctor import load_trust_store\n"
               "from mtls_doctor.verify import verify_chain\n"
               "b, c, leaf, ca = (open(p, 'rb').read() for p in sys.argv[1:5])\n"
               "print(verify_chain([leaf, ca], load_trust_store(b, crls=[c])).tls_verify_status)")
CA_USAGE = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
LEAF_USAGE = x509.KeyUsage(True, False, False, False, False, False, False, False, False)


def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
          issuer_key: ec.EllipticCurvePrivateKey, serial: int, ca: bool) -> x509.Certificate:
    """A certificate for ``key``, signed by ``issuer_key`` (self-signed if ``issuer`` is None)."""
    name = x509.Name.from_rfc4514_string(f"CN={cn},O=verify-bench")
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=90))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(CA_USAGE if ca else LEAF_USAGE, critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if not ca:
        b = (b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"{cn}.example")]), False))
    return b.sign(issuer_key, hashes.SHA256())


def build(chains: int, crl_entries: int, layout: str) -> dict:
    """The bundle, chains (DER lists), CRL and the expected number of CRL hits."""
    start = time.perf_counter()
    bundle, issuing = [], []
    for r in range(LAYOUTS[layout][0]):
        key = ec.generate_private_key(ec.SECP256R1())
        bundle.append(root := _cert(f"Root {r}", key, None, key, r + 1, True))
        for i in range(LAYOUTS[layout][1]):
            ikey = ec.generate_private_key(ec.SECP256R1())
            issuing.append((_cert(f"CA {r}.{i}", ikey, root.subject, key, 100 + i, True), ikey))
    bundle += [c for c, _ in issuing] if layout == "anchors" else []
    revoked, ders = set(), []
    for n in range(chains):
        ca, ca_key = issuing[n % len(issuing)]
        leaf = _cert(f"client-{n}", ec.generate_private_key(ec.SECP256R1()), ca.subject, ca_key,
                     x509.random_serial_number(), False)
        ders.append([leaf.public_bytes(Encoding.DER), ca.public_bytes(Encoding.DER)])
        if n % (10 * len(issuing)) == 0:  # every 10th leaf of the CRL's issuer is revoked
            revoked.add(leaf.serial_number)
    hits = len(revoked)
    while len(revoked) < crl_entries:
        revoked.add(secrets.randbits(127))
    crl = x509.CertificateRevocationListBuilder(  # entries given at once: adding is quadratic
        issuer_name=issuing[0][0].subject, last_update=NOW - timedelta(hours=1),
        next_update=NOW + timedelta(days=7), revoked_certificates=[
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(NOW).build()
            for s in revoked],
        extensions=[x509.Extension(x509.CRLNumber.oid, False, x509.CRLNumber(1))],
    ).sign(issuing[0][1], hashes.SHA256())
    return {"bundle": b"".join(c.public_bytes(Encoding.PEM) for c in bundle), "chains": ders,
            "crl": crl.public_bytes(Encoding.PEM), "cas": len(bundle), "crl_hits": hits,
            "issuing": len(issuing), "generation_s": time.perf_counter() - start}


def summary(times: list[float]) -> dict:
    return {"median": statistics.median(times), "min": min(times), "runs": times}


def ours_batch(data: dict, crl: bool, seen: dict) -> float:
    """`verify_chain` over every chain, with a fresh store (so a fresh Verifier)."""
    store = load_trust_store(data["bundle"], crls=[data["crl"]] if crl else [])
    start = time.perf_counter()
    statuses = [verify_chain(data["chains"][0], store, at=AT).tls_verify_status]
    seen.setdefault("first", []).append(time.perf_counter() - start)
    statuses += [verify_chain(c, store, at=AT).tls_verify_status for c in data["chains"][1:]]
    elapsed = time.perf_counter() - start
    seen["failed"], seen["statuses"] = sum(s != "Success" for s in statuses), sorted(set(statuses))
    return elapsed


def rust_batch(data: dict, seen: dict) -> float:
    bundle = x509.load_pem_x509_certificates(data["bundle"])
    start, seen["failed"] = time.perf_counter(), 0
    verifier = PolicyBuilder().store(Store(bundle)).time(AT).build_client_verifier()
    for leaf, ca in data["chains"]:
        try:
            verifier.verify(x509.load_der_x509_certificate(leaf),
                            [x509.load_der_x509_certificate(ca)])
        except VerificationError:
            seen["failed"] += 1
    return time.perf_counter() - start


def crl_in_process(data: dict, seen: dict) -> float:
    """`load_trust_store` with the CRL; the index build: 1st minus 2nd verify under its issuer."""
    start = time.perf_counter()
    verifier = Verifier(load_trust_store(data["bundle"], crls=[data["crl"]]))
    times = [time.perf_counter()]
    for n in (0, min(data["issuing"], len(data["chains"]) - 1)):  # both under the CRL issuer
        verifier.verify(data["chains"][n], at=AT)
        times.append(time.perf_counter())
    seen.setdefault("index", []).append(2 * times[1] - times[0] - times[2])
    return times[0] - start


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"{cmd[0]}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - start


def bench(args: argparse.Namespace) -> dict:
    openssl = shutil.which("openssl")
    if not openssl:
        raise BenchError("needs openssl on PATH")
    precompile()
    data = build(args.chains, args.crl_entries, args.layout)
    res, seen = {}, {"ours": {}, "ours no-CRL": {}, "rust": {}}

    def timed(name: str, fn: Callable[[], float], n: int = args.repeat) -> None:
        res[name] = summary([fn() for _ in range(n)])

    timed("batch ours", lambda: ours_batch(data, True, seen["ours"]))
    timed("batch ours no-CRL", lambda: ours_batch(data, False, seen["ours no-CRL"]))
    timed("batch rust", lambda: rust_batch(data, seen["rust"]))
    res["first call ours"] = summary(seen["ours"].pop("first"))
    timed("load_trust_store+CRL", lambda: crl_in_process(data, seen))
    res["CRL index build"] = summary(seen.pop("index"))
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        paths = [f"{tmp}/{name}" for name in ("bundle", "crl", "leaf", "ca")]
        for path, content in zip(paths, [data["bundle"], data["crl"], *data["chains"][0]],
                                 strict=True):
            Path(path).write_bytes(content)
        ours_cmd = [sys.executable, "-c", CRL_PROCESS, *paths]
        openssl_cmd = [openssl, "crl", "-in", paths[1], "-noout"]
        run(ours_cmd), run(openssl_cmd)  # warm-up: page cache, bytecode
        timed("crl ours (process)", lambda: run(ours_cmd), args.repeat_crl)
        timed("crl openssl (process)", lambda: run(openssl_cmd), args.repeat_crl)
    med = {k: v["median"] for k, v in res.items()}
    ratios = {"throughput ours/rust": med["batch rust"] / med["batch ours"],
              "crl ours/openssl": med["crl ours (process)"] / med["crl openssl (process)"]}
    version = subprocess.run([openssl, "version"], capture_output=True, text=True).stdout
    return {"layout": args.layout, "chains": args.chains, "crl_entries": args.crl_entries,
            "cas": data["cas"], "crl_bytes": len(data["crl"]), "generation_s": data["generation_s"],
            "crl_hits_expected": data["crl_hits"], "statuses": seen["ours"]["statuses"],
            "failed": {k: v["failed"] for k, v in seen.items()}, "openssl": version.strip(),
            "python": sys.version.split()[0], "results": res, "ratios": ratios}


def print_table(data: dict) -> None:
    n = data["chains"]
    print(f"{n} chains, layout {data['layout']} ({data['cas']} CAs in the bundle), CRL of "
          f"{data['crl_entries']:,} entries ({data['crl_bytes']:,} B); built in "
          f"{data['generation_s']:.1f} s")
    print(f"openssl: {data['openssl']}   python: {data['python']}")
    print(f"failed verdicts: {', '.join(f'{k} {v}' for k, v in data['failed'].items())} "
          f"(CRL hits expected: {data['crl_hits_expected']}); ours: {', '.join(data['statuses'])}")
    print(f"\n{'measurement':<24}{'runs':>5}{'median s':>10}{'min s':>9}{'chains/s':>10}"
          f"{'us/chain':>10}")
    for name, r in data["results"].items():
        rate = f"{n / r['median']:>10,.0f}{r['median'] / n * 1e6:>10.1f}" if "batch" in name else ""
        print(f"{name:<24}{len(r['runs']):>5}{r['median']:>10.3f}{r['min']:>9.3f}{rate}")
    print(f"\n{'ratio (medians)':<22}{'value':>7}  target")
    for name, value in data["ratios"].items():
        target, met = (">= 1.0", value >= 1) if "rust" in name else ("<= 2.0", value <= 2)
        print(f"{name:<22}{value:>6.2f}x  {target} {'ok' if met else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=10_000, metavar="N")
    parser.add_argument("--crl-entries", type=int, default=100_000, metavar="N")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="anchors")
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="in-process runs")
    parser.add_argument("--repeat-crl", type=int, default=7, metavar="N", help="process runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if min(args.repeat, args.repeat_crl, args.chains) < 1 or args.crl_entries < 0:
        parser.error("counts must be at least 1 (--crl-entries at least 0)")
    return finish("verify_bench", args, bench, print_table)

if __name__ == "__main__":
    sys.exit(main())
