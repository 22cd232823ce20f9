"""The bundle grammar: any input gives blocks and issues with line numbers, never an exception."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from mtls_doctor.pem import BundleFormat, pem_encode, scan_bundle

CERT_DER = b"\x30\x03\x02\x01\x01"  # not a real certificate: the scanner does not parse DER


def block(der: bytes = CERT_DER, label: str = "CERTIFICATE") -> bytes:
    return pem_encode(der, label)


def rules(data: bytes) -> list[tuple[str, int | None]]:
    return [(i.rule, i.line) for i in scan_bundle(data).issues]


def test_clean_bundle_with_comments_has_no_issue() -> None:
    data = b"# Root CA\n" + block() + b"# Intermediate\n" + block()
    scan = scan_bundle(data)
    assert scan.issues == ()
    assert [b.line for b in scan.blocks] == [2, 6]
    assert scan.format is BundleFormat.PEM


def test_blank_lines_are_reported_once_per_run_with_their_line() -> None:
    data = block() + b"\n\n" + block() + b"\n"
    assert rules(data) == [("bundle.blank-line", 4), ("bundle.blank-line", 9)]
    assert "2 blank lines (lines 4-5)" in scan_bundle(data).issues[0].message


def test_blank_line_inside_a_block() -> None:
    text = block().replace(b"\n", b"\n\n", 1)
    assert rules(text) == [("bundle.blank-line", 2)]


def test_comment_with_a_dash() -> None:
    assert rules(b"# my-ca\n" + block()) == [("bundle.comment-dash", 1)]


def test_text_dump_is_stray_text_named_as_such() -> None:
    dump = b"Certificate:\n    Data:\n        Version: 3 (0x2)\n"
    scan = scan_bundle(block() + dump + block())
    assert [(i.rule, i.line) for i in scan.issues] == [("bundle.stray-text", 4)]
    assert "text dump" in scan.issues[0].message and "(lines 4-6)" in scan.issues[0].message


def test_indented_comment_is_stray_text() -> None:
    assert rules(b"  # note\n" + block()) == [("bundle.stray-text", 1)]


def test_byte_order_mark_is_named() -> None:
    scan = scan_bundle(b"\xef\xbb\xbf" + block())
    assert scan.issues[0].rule == "bundle.stray-text"
    assert "byte-order mark" in scan.issues[0].message


def test_private_key_block_is_a_leak() -> None:
    scan = scan_bundle(block() + block(b"\x01\x02", "PRIVATE KEY"))
    assert [(i.rule, i.line) for i in scan.issues] == [("bundle.not-a-certificate", 4)]
    assert "leaked" in scan.issues[0].message


def test_crl_block_in_bundle_points_to_revocations() -> None:
    scan = scan_bundle(block() + block(b"\x01", "X509 CRL"))
    assert "AddTrustStoreRevocations" in scan.issues[0].message


def test_bad_base64_names_the_line() -> None:
    broken = block().replace(b"MAMCAQE=", b"MAMC*QE=")
    assert rules(broken) == [("bundle.bad-base64", 2)]


def test_truncated_block() -> None:
    data = block()[:-20]
    scan = scan_bundle(data)
    assert [(i.rule, i.line) for i in scan.issues] == [("bundle.bad-base64", 1)]
    assert scan.blocks[0].der is None


def test_begin_inside_block_closes_the_unterminated_one() -> None:
    first = block().split(b"-----END")[0]
    scan = scan_bundle(first + block())
    assert [i.rule for i in scan.issues] == ["bundle.bad-base64"]
    assert [b.der is not None for b in scan.blocks] == [False, True]


def test_empty_and_comment_only_files() -> None:
    assert rules(b"") == [("bundle.empty", None)]
    assert rules(b"  \n\n") == [("bundle.empty", None)]
    assert rules(b"# nothing here\n") == [("bundle.empty", None)]


def test_text_without_pem() -> None:
    scan = scan_bundle(b"hello world\nthis is not a bundle\n")
    assert scan.format is BundleFormat.TEXT
    assert [i.rule for i in scan.issues] == ["bundle.not-pem"]


def test_binary_junk() -> None:
    scan = scan_bundle(bytes(range(256)) * 4)
    assert scan.format is BundleFormat.BINARY
    assert [i.rule for i in scan.issues] == ["bundle.not-pem"]


def test_crlf_line_endings_are_read_and_kept_in_raw_blocks() -> None:
    data = block().replace(b"\n", b"\r\n") * 2
    scan = scan_bundle(data)
    assert scan.issues == ()
    assert b"".join(b.raw for b in scan.blocks) == data


def test_pem_encode_is_64_columns() -> None:
    der = bytes(range(200))
    lines = pem_encode(der).splitlines()
    assert all(len(line) <= 64 for line in lines[1:-1])
    assert base64.b64decode(b"".join(lines[1:-1])) == der


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_give_issues_never_an_exception(data: bytes) -> None:
    scan = scan_bundle(data)
    assert scan.size == len(data)
    assert scan.issues or scan.blocks


pem_ish = st.lists(st.sampled_from([
    b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----", b"MAMCAQE=", b"#c", b"# a-b",
    b"", b"junk", b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----", b"\r", b"@@@",
]), max_size=40).map(lambda lines: b"\n".join(lines))


@settings(max_examples=300, deadline=None)
@given(pem_ish)
def test_pem_like_lines_never_raise_and_lines_are_in_range(data: bytes) -> None:
    scan = scan_bundle(data)
    count = len(data.splitlines()) or 1
    for issue in scan.issues:
        assert issue.line is None or 1 <= issue.line <= count
    for found in scan.blocks:
        assert found.line is None or 1 <= found.line <= count
