"""Hostile input: garbage, truncation, huge files and odd encodings never raise past the reader."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory import bundle, der, make_ca, make_crl, pem
from mtls_doctor import check_trust_store, load_trust_store
from mtls_doctor.facts import Unparseable, certificate_facts
from mtls_doctor.truststore import read_crl


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_crl_reader_never_raises(data: bytes) -> None:
    crl = read_crl(1, "x.crl", data)
    assert (crl.facts is None) == (crl.problem is not None)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_certificate_parser_raises_only_unparseable(data: bytes) -> None:
    try:
        certificate_facts(data)
    except Unparseable as exc:
        assert str(exc)


def test_every_truncation_of_a_certificate_and_crl_is_handled() -> None:
    ca = make_ca("Truncated CA")
    cert, crl = ca.der, der(make_crl(ca, [1, 2, 3]))
    for cut in range(0, len(cert), 7):
        with pytest.raises(Unparseable):
            certificate_facts(cert[:cut])
    for cut in range(0, len(crl), 7):
        assert read_crl(1, "c", crl[:cut]).facts is None


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=2000), st.binary(min_size=1, max_size=8))
def test_corrupted_bundles_give_findings(position: int, junk: bytes) -> None:
    data = bytearray(bundle(make_ca("Corrupt CA")))
    position %= len(data)
    data[position:position + len(junk)] = junk
    report = check_trust_store(load_trust_store(bytes(data)))
    assert report.accepted or report.findings


def test_ten_thousand_blocks_are_checked() -> None:
    data = pem(make_ca("Many CA").cert) * 10_000
    report = check_trust_store(load_trust_store(data))
    rules = {f.rule for f in report.findings}
    assert {"bundle.too-many-certificates", "bundle.duplicate"} <= rules
    assert len(report.store.certificates) == 10_000


def test_megabytes_of_text_without_newlines() -> None:
    report = check_trust_store(load_trust_store(b"A" * 20_000_000))
    assert [f.rule for f in report.findings] == ["bundle.not-pem"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1"])
def test_odd_text_encodings(encoding: str) -> None:
    text = "# Zürich CA\n" + pem(make_ca("Encoded CA").cert).decode()
    report = check_trust_store(load_trust_store(text.encode(encoding)))
    if encoding == "latin-1":
        assert report.accepted
    else:
        assert not report.accepted


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_chain_bytes_give_a_verdict_or_an_input_error(data: bytes) -> None:
    from mtls_doctor.errors import InputError
    from mtls_doctor.verify import verify_chain

    trust = load_trust_store(bundle(_ca()))
    try:
        verdict = verify_chain(data, trust)
    except InputError as exc:
        assert exc.message
    else:
        assert verdict.tls_verify_status.startswith("Failed:")


def _ca():  # type: ignore[no-untyped-def]
    return make_ca("Hostile Verify Root", key="p256")
