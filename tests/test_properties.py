"""Property tests on real certificates: fix yields an accepted bundle; split round-trips."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory import DAY, NOW, Issued, make_ca, make_leaf, openssl_ca
from mtls_doctor import check_trust_store, fix_bundle, load_trust_store
from mtls_doctor.cli import run
from mtls_doctor.rules import Severity


@cache
def pool() -> tuple[bytes, ...]:
    """PEM pieces a real bundle may hold: good CAs, bad CAs, leaves, junk and grammar faults."""
    root = make_ca("Prop Root CA")
    good: list[Issued] = [root, make_ca("Prop Issuing CA", issuer=root),
                          make_ca("Prop EC CA", key="p384"),
                          make_ca("Prop Old CA", not_before=NOW - 9 * DAY, not_after=NOW - DAY)]
    bad = [make_leaf("prop client", root).pem, openssl_ca("rsa1024"), openssl_ca("dsa"),
           openssl_ca("ed25519"), make_ca("Prop NotCA", ca=None).pem]
    noise = [b"\n", b"# comment-with-dash\n", b"Certificate:\n    Data:\n", b"# fine\n",
             root.key_pem, b"-----BEGIN CERTIFICATE-----\nM@@@\n-----END CERTIFICATE-----\n",
             b"-----BEGIN CERTIFICATE-----\nMIIB\n"]
    return tuple([c.pem for c in good] + bad + noise)


pieces = st.lists(st.integers(min_value=0, max_value=15), min_size=1, max_size=12)


def assemble(indexes: list[int]) -> bytes:
    parts = pool()
    return b"".join(parts[i % len(parts)] for i in indexes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces)
def test_fix_output_always_passes_check(indexes: list[int]) -> None:
    report = check_trust_store(load_trust_store(assemble(indexes)), at=NOW)
    result = fix_bundle(report)
    if not result.kept:
        return
    again = check_trust_store(load_trust_store(result.data), at=NOW)
    assert [f for f in again.findings if f.severity is Severity.ERROR] == []
    assert not any(f.rule == "bundle.duplicate" for f in again.findings)
    kept = {c.sha256 for c in result.kept}
    assert {c.sha256 for c in again.store.certificates} == kept


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(pieces)
def test_split_then_concatenation_reproduces_the_blocks(tmp_path: Path,
                                                        indexes: list[int]) -> None:
    data = assemble(indexes)
    source = tmp_path / "bundle.pem"
    source.write_bytes(data)
    out = tmp_path / f"split{abs(hash(tuple(indexes)))}"
    code = run(["split", str(source), "--out", str(out), "--force"])
    blocks = load_trust_store(data).scan.certificate_blocks
    if not blocks:
        assert code == 1
        return
    assert code == 0
    files = sorted(out.glob("cert.*.pem"), key=lambda p: int(p.name.split(".")[1]))
    assert len(files) == len(blocks)
    joined = b"".join(f.read_bytes() for f in files)
    expected = b"".join(b.raw if b.raw.endswith(b"\n") else b.raw + b"\n" for b in blocks)
    assert joined == expected
    rescanned = load_trust_store(joined).scan.certificate_blocks
    assert [b.der for b in rescanned] == [b.der for b in blocks]
