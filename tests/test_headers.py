"""The load balancer's mTLS headers: percent-encoded PEM chains, validity, serial, verify mode."""

from __future__ import annotations

import base64
import contextlib
import datetime
import subprocess
from functools import cache
from urllib.parse import quote, unquote, unquote_plus

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import require_program
from factory import make_ca, make_leaf
from mtls_doctor.errors import InputError
from mtls_doctor.headers import (
    DEFAULT,
    MAX_HEADER_BYTES,
    HeaderNames,
    decode_clientcert,
    encode_clientcert,
    format_validity,
    parse_validity,
    serial_header,
    verify_mode_headers,
)

UTC = datetime.UTC
DER = serialization.Encoding.DER
BEGIN = "-----BEGIN%20CERTIFICATE-----%0A"


def ec_cert(cn: str, *, serial: int = 1, name: x509.Name | None = None,
            not_before: datetime.datetime | None = None,
            not_after: datetime.datetime | None = None) -> x509.Certificate:
    """A small self-signed P-256 certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = not_before or datetime.datetime(2024, 1, 1, tzinfo=UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(start).not_valid_after(not_after or start + datetime.timedelta(30))
            .sign(key, hashes.SHA256()))


def der_where(predicate: str) -> bytes:
    """The DER of a fresh certificate whose base64 satisfies ``predicate`` ('+' or '==')."""
    for n in range(200):
        der = ec_cert("x" * (n % 7 + 1)).public_bytes(DER)
        body = base64.b64encode(der).decode()
        if (predicate == "==" and body.endswith("==")) or (predicate == "+" and "+" in body):
            return der
    raise AssertionError(f"no certificate with {predicate!r} in its base64")


@cache
def pool() -> tuple[bytes, ...]:
    root = make_ca("Headers Root CA")
    issuing = make_ca("Headers Issuing CA", issuer=root, key="p256")
    leaf = make_leaf("headers client", issuing, key="p384")
    return (leaf.der, issuing.der, root.der, der_where("+"), der_where("=="))


# ---------------------------------------------------------------- header names

def test_header_names_defaults_and_renaming() -> None:
    assert HeaderNames() == DEFAULT
    assert DEFAULT.clientcert == "X-Amzn-Mtls-Clientcert"
    assert DEFAULT.serial_number == "X-Amzn-Mtls-Clientcert-Serial-Number"
    assert DEFAULT.issuer == "X-Amzn-Mtls-Clientcert-Issuer"
    assert DEFAULT.subject == "X-Amzn-Mtls-Clientcert-Subject"
    assert DEFAULT.validity == "X-Amzn-Mtls-Clientcert-Validity"
    assert DEFAULT.leaf == "X-Amzn-Mtls-Clientcert-Leaf"
    with pytest.raises(AttributeError):
        DEFAULT.leaf = "x"  # type: ignore[misc]


# ---------------------------------------------------------------- decode / encode

def test_aws_doc_example_shape_with_percent_encoded_padding() -> None:
    der = der_where("==")
    value = quote(serialization_pem(der), safe="")  # the doc example: '=' as %3D
    assert value.startswith(BEGIN) and "%3D%3D%0A-----END%20CERTIFICATE-----%0A" in value
    assert decode_clientcert(value) == [der]


def serialization_pem(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def test_encoder_keeps_plus_equals_slash_and_encodes_space_and_newline() -> None:
    der = der_where("==")
    value = encode_clientcert([der])
    assert value.startswith(BEGIN) and value.endswith("==%0A-----END%20CERTIFICATE-----%0A")
    assert " " not in value and "\n" not in value and "%2B" not in value and "%2F" not in value


def test_plus_survives_where_unquote_plus_would_corrupt_it() -> None:
    der = der_where("+")
    value = encode_clientcert([der])
    assert "+" in value
    assert decode_clientcert(value) == [der]
    assert unquote_plus(value) != unquote(value)
    with pytest.raises(InputError, match="not a chain of PEM"):  # what form-decoding would give
        decode_clientcert(quote(unquote_plus(value), safe=""))
    assert decode_clientcert(quote(serialization_pem(der), safe="")) == [der]  # '+' as %2B


def test_chain_keeps_order() -> None:
    chain = list(pool()[:3])
    assert decode_clientcert(encode_clientcert(chain)) == chain
    assert decode_clientcert(encode_clientcert(chain[::-1])) == chain[::-1]


@pytest.mark.parametrize("wrap", [
    lambda v: f"  {v}\t\r\n",
    lambda v: f'"{v}"',
    lambda v: f' " {v} " ',
    lambda v: v.replace("%0A", "%0D%0A"),
    lambda v: v.removesuffix("%0A"),
    lambda v: v + "%0A%0A",
    lambda v: v.encode(),
    lambda v: v.replace("%0A", "%0a"),
], ids=["whitespace", "quoted", "quoted-spaced", "crlf", "no-final-newline", "trailing-blank",
        "bytes", "lowercase-escape"])
def test_tolerated_variants(wrap: object) -> None:
    chain = list(pool()[:2])
    assert decode_clientcert(wrap(encode_clientcert(chain))) == chain  # type: ignore[operator]


@pytest.mark.parametrize(("bad", "position"), [("%G1", 5), ("%4", 5), ("%", 5)])
def test_invalid_percent_escapes_name_the_position(bad: str, position: int) -> None:
    with pytest.raises(InputError, match=f"percent escape '{bad}' at position {position}"):
        decode_clientcert("  " + BEGIN[:2] + bad)


def test_invalid_escape_at_the_end_of_a_real_value() -> None:
    value = encode_clientcert([pool()[0]])
    with pytest.raises(InputError, match=f"at position {len(value) + 1}:"):
        decode_clientcert(value + "%")


@pytest.mark.parametrize(("value", "message"), [
    ("", "empty"),
    ('""', "empty"),
    ("%0A%20", "empty"),
    ("hello", "no PEM CERTIFICATE block"),
    (BEGIN + "MIIB%0A", "no END line"),
    ("-----BEGIN%20CERTIFICATE-----%0A%0A-----END%20CERTIFICATE-----%0A", "blank line"),
    ("caf\xe9", "non-ASCII character"),
    (b"caf\xc3\xa9", "non-ASCII character"),
    ("a\x00b", "control character"),
    ("a\tb", "control character"),
    ("a\x7fb", "control character"),
    ("%00", "byte 0x00"),
    ("%C3%A9", "byte 0xC3"),
    ("-----BEGIN%20X509%20CRL-----%0AMIIB%0A-----END%20X509%20CRL-----%0A", "CRL"),
])
def test_rejected_values(value: str | bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        decode_clientcert(value)


def test_blank_line_stray_text_comment_and_key_inside_a_chain() -> None:
    leaf, issuing = (encode_clientcert([d]) for d in pool()[:2])
    cases = {leaf + "%0A" + issuing: "decoded line 13: A blank line",
             leaf + "junk%0A" + issuing: "neither PEM nor a '#' comment: 'junk'",
             leaf + "%23 note%0A" + issuing: "'#' comment",
             leaf + quote(make_ca("Headers Key").key_pem.decode()): "private key"}
    for value, message in cases.items():
        with pytest.raises(InputError, match=message):
            decode_clientcert(value, header="X-Client-Chain")
        with pytest.raises(InputError, match=r"^The X-Client-Chain value"):
            decode_clientcert(value, header="X-Client-Chain")


def test_already_decoded_pem_gets_a_fix() -> None:
    with pytest.raises(InputError, match="control character '\\\\n'") as caught:
        decode_clientcert(serialization_pem(pool()[0]))
    assert caught.value.fix is not None and "already decoded" in caught.value.fix


def test_64_kib_limit() -> None:
    value = encode_clientcert([pool()[0]])
    padded = value + " " * (MAX_HEADER_BYTES - len(value))
    assert decode_clientcert(padded) == [pool()[0]]
    for over in (padded + " ", (padded + " ").encode()):
        with pytest.raises(InputError, match=f"at most {MAX_HEADER_BYTES} bytes"):
            decode_clientcert(over)


def test_encode_needs_a_certificate() -> None:
    with pytest.raises(ValueError, match="at least one"):
        encode_clientcert([])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.text(alphabet="%0aAdDgG3=+/- \n\r\"#")))
def test_arbitrary_input_raises_only_input_error(value: str | bytes) -> None:
    try:
        decode_clientcert(value)
    except InputError as exc:
        assert exc.message.startswith("The X-Amzn-Mtls-Clientcert value")


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """A real encoded chain with one slice replaced by junk."""
    value = encode_clientcert(draw(st.lists(st.sampled_from(pool()), min_size=1, max_size=3)))
    start = draw(st.integers(0, len(value)))
    end = draw(st.integers(start, min(len(value), start + 8)))
    junk = draw(st.text(alphabet="%0AD3-+=/ #\"", max_size=6) | st.text(max_size=3))
    return value[:start] + junk + value[end:]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_real_values_raise_only_input_error(value: str) -> None:
    try:
        ders = decode_clientcert(value)
    except InputError:
        return
    assert ders and all(isinstance(d, bytes) for d in ders)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(pool()), min_size=1, max_size=6))
def test_round_trip_real_certificates(ders: list[bytes]) -> None:
    value = encode_clientcert(ders)
    assert decode_clientcert(value) == ders
    assert decode_clientcert(quote(unquote(value), safe="")) == ders  # '=', '+', '/' escaped


# ---------------------------------------------------------------- validity and serial

def test_validity_parse_and_format() -> None:
    value = "NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z"
    before, after = parse_validity(value)
    assert before == datetime.datetime(2023, 9, 21, 1, 50, 17, tzinfo=UTC)
    assert after == datetime.datetime(2024, 9, 20, 1, 50, 17, tzinfo=UTC)
    assert format_validity(before, after) == value
    assert parse_validity(f" {value}\r\n") == (before, after)


def test_format_validity_converts_to_utc() -> None:
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    before = datetime.datetime(2023, 9, 21, 3, 50, 17, 999, tzinfo=plus2)
    naive = datetime.datetime(2024, 9, 20, 1, 50, 17)
    assert format_validity(before, naive) == \
        "NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z"
    assert format_validity(datetime.datetime(5, 1, 2), naive).startswith("NotBefore=0005-01-02T")


@pytest.mark.parametrize("value", [
    "", "garbage", "NotBefore=2023-09-21T01:50:17Z",
    "NotAfter=2024-09-20T01:50:17Z;NotBefore=2023-09-21T01:50:17Z",
    "NotBefore=2023-09-21T01:50:17;NotAfter=2024-09-20T01:50:17Z",
    "NotBefore=2023-02-30T01:50:17Z;NotAfter=2024-09-20T01:50:17Z",
    "NotBefore=2023-09-21T25:50:17Z;NotAfter=2024-09-20T01:50:17Z",
    "NotBefore=٢٠٢٣-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z",
    "NotBefore=2023-09-21 01:50:17Z;NotAfter=2024-09-20T01:50:17Z",
])
def test_validity_garbage(value: str) -> None:
    with pytest.raises(InputError, match="Not a validity header value"):
        parse_validity(value)


moments = st.datetimes(min_value=datetime.datetime(1, 1, 1),
                       max_value=datetime.datetime(9999, 12, 31, 23, 59, 59),
                       timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@given(moments, moments)
def test_validity_round_trip(before: datetime.datetime, after: datetime.datetime) -> None:
    assert parse_validity(format_validity(before, after)) == (before, after)


@given(st.text())
def test_validity_arbitrary_text_raises_only_input_error(value: str) -> None:
    with contextlib.suppress(InputError):
        parse_validity(value)


@pytest.mark.parametrize(("serial", "expected"), [
    (2, "02"), (0x3A5B1, "03A5B1"), (0xFEF257372D5C14D4, "FEF257372D5C14D4"), (0x80, "80"),
])
def test_serial_header(serial: int, expected: str) -> None:
    assert serial_header(serial) == expected


# ---------------------------------------------------------------- verify mode

DOC_SUBJECT = "CN=client_.com,OU=client-3,O=mTLS,ST=Washington,C=US"


def doc_cert() -> x509.Certificate:
    """A certificate shaped like the AWS documentation's verify-mode example."""
    attrs = [(NameOID.COUNTRY_NAME, "US"), (NameOID.STATE_OR_PROVINCE_NAME, "Washington"),
             (NameOID.ORGANIZATION_NAME, "mTLS"), (NameOID.ORGANIZATIONAL_UNIT_NAME, "client-3"),
             (NameOID.COMMON_NAME, "client_.com")]
    return ec_cert("", serial=0x03A5B1,
                   name=x509.Name([x509.NameAttribute(oid, v) for oid, v in attrs]),
                   not_before=datetime.datetime(2023, 9, 21, 1, 50, 17, tzinfo=UTC),
                   not_after=datetime.datetime(2024, 9, 20, 1, 50, 17, tzinfo=UTC))


def test_verify_mode_headers_on_a_known_certificate() -> None:
    cert = doc_cert()
    headers = verify_mode_headers(cert)
    assert headers == {
        "X-Amzn-Mtls-Clientcert-Serial-Number": "03A5B1",
        "X-Amzn-Mtls-Clientcert-Issuer": DOC_SUBJECT,
        "X-Amzn-Mtls-Clientcert-Subject": DOC_SUBJECT,
        "X-Amzn-Mtls-Clientcert-Validity":
            "NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z",
        "X-Amzn-Mtls-Clientcert-Leaf": encode_clientcert([cert.public_bytes(DER)]),
    }
    leaf = headers[DEFAULT.leaf]
    assert decode_clientcert(leaf, header=DEFAULT.leaf) == [cert.public_bytes(DER)]
    assert parse_validity(headers[DEFAULT.validity]) == (cert.not_valid_before_utc,
                                                         cert.not_valid_after_utc)


def test_verify_mode_headers_with_renamed_headers_and_a_real_chain() -> None:
    names = HeaderNames(serial_number="x-serial", issuer="x-issuer", subject="x-subject",
                        validity="x-validity", leaf="x-leaf")
    leaf = x509.load_der_x509_certificate(pool()[0])
    headers = verify_mode_headers(leaf, names)
    assert set(headers) == {"x-serial", "x-issuer", "x-subject", "x-validity", "x-leaf"}
    assert headers["x-subject"] == "CN=headers client"
    assert headers["x-issuer"] == "CN=Headers Issuing CA"
    assert int(headers["x-serial"], 16) == leaf.serial_number


def test_subject_and_issuer_match_openssl_rfc2253() -> None:
    openssl = require_program("openssl")
    cert = doc_cert()
    headers = verify_mode_headers(cert)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    for field, name in (("-subject", DEFAULT.subject), ("-issuer", DEFAULT.issuer),
                        ("-serial", DEFAULT.serial_number)):
        out = subprocess.run([openssl, "x509", "-noout", field, "-nameopt", "RFC2253"],
                             input=pem, capture_output=True, check=True).stdout.decode()
        assert out.strip().split("=", 1)[1] == headers[name]
