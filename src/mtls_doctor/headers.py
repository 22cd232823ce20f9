"""The mTLS headers an Application Load Balancer sends to its targets (alb-facts.md §7).

Passthrough mode sends the client's whole chain in ``X-Amzn-Mtls-Clientcert``; verify mode sends
the leaf's serial, issuer, subject, validity and PEM. Both PEM headers are percent-encoded
("``+=/`` safe", yet AWS's own example encodes ``=`` as ``%3D``), so they are read with plain
percent-decoding: ``+`` is base64, never a space (``unquote_plus`` would corrupt it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mtls_doctor.errors import InputError
from mtls_doctor.facts import name_of, serial_hex
from mtls_doctor.pem import pem_encode, scan_bundle

MAX_HEADER_BYTES = 64 * 1024
"""The load balancer's quota for all request headers together, so no value can be longer."""

_SPACE = " \t\r\n"
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DECODED_BAD = re.compile(rb"[^\x20-\x7e\r\n]")
_TIME = r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})Z"
_VALIDITY = re.compile(rf"NotBefore={_TIME};NotAfter={_TIME}")
_VALIDITY_FORMAT = "NotBefore=YYYY-MM-DDTHH:MM:SSZ;NotAfter=YYYY-MM-DDTHH:MM:SSZ"


@dataclass(frozen=True)
class HeaderNames:
    """Header names; a listener can rename each (``routing.http.request.*.header_name``)."""

    clientcert: str = "X-Amzn-Mtls-Clientcert"
    serial_number: str = "X-Amzn-Mtls-Clientcert-Serial-Number"
    issuer: str = "X-Amzn-Mtls-Clientcert-Issuer"
    subject: str = "X-Amzn-Mtls-Clientcert-Subject"
    validity: str = "X-Amzn-Mtls-Clientcert-Validity"
    leaf: str = "X-Amzn-Mtls-Clientcert-Leaf"


DEFAULT = HeaderNames()


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _SPACE:
        start += 1
    while end > start and text[end - 1] in _SPACE:
        end -= 1
    return start, end


def _unwrap(value: str | bytes, header: str) -> tuple[str, int]:
    """The value without surrounding whitespace or quotes, and the index where that starts."""
    if len(value) > MAX_HEADER_BYTES:
        raise InputError(f"The {header} value is {len(value)} bytes long; the load balancer "
                         f"accepts at most {MAX_HEADER_BYTES} bytes of request headers.")
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    start, end = _trim(text, 0, len(text))
    if end - start >= 2 and text[start] == text[end - 1] == '"':
        start, end = _trim(text, start + 1, end - 1)
    bad = _NOT_PRINTABLE.search(text, start, end)
    if bad:
        what = "a non-ASCII" if ord(bad.group()) > 0x7F else "a control"
        fix = ("The value looks already decoded: pass the header exactly as the target received "
               "it (percent-encoded), or check the PEM as a bundle."
               if "\n" in text[start:end] and "-----BEGIN" in text else None)
        raise InputError(f"The {header} value has {what} character {bad.group()!r} at position "
                         f"{bad.start() + 1}; a header value is printable ASCII.", fix)
    return text[start:end], start


def decode_clientcert(value: str | bytes, *, header: str = DEFAULT.clientcert) -> list[bytes]:
    """The DER of each certificate in a percent-encoded PEM header value, in order (leaf first).

    Only :class:`InputError` is raised, with ``header`` named in its message. The DER itself is
    not parsed: this checks the header's encoding, not the certificates.
    """
    text, offset = _unwrap(value, header)
    bad = _BAD_ESCAPE.search(text)
    if bad:
        raise InputError(f"The {header} value has an invalid percent escape "
                         f"{text[bad.start():bad.start() + 3]!r} at position "
                         f"{offset + bad.start() + 1}: '%' must be followed by two hex digits.")
    pem = unquote_to_bytes(text).strip(_SPACE.encode())
    if not pem:
        raise InputError(f"The {header} value is empty: it holds no certificate.")
    wrong = _DECODED_BAD.search(pem)
    if wrong:
        raise InputError(f"The {header} value decodes to byte 0x{wrong.group()[0]:02X}, which "
                         "cannot be part of PEM text.")
    scan = scan_bundle(pem)
    problem = next((f"decoded line {i.line}: {i.message}" if i.line else i.message
                    for i in scan.issues
                    if i.rule not in ("bundle.empty", "bundle.not-pem")), None)
    if problem is None and not scan.certificate_blocks:
        problem = "it holds no PEM CERTIFICATE block."
    comment = next((n for n, line in enumerate(pem.splitlines(), 1) if line[:1] == b"#"), None)
    if problem is None and comment is not None:  # the only lines scan_bundle accepts silently
        problem = f"decoded line {comment}: a '#' comment, which a header never holds."
    if problem is not None:
        raise InputError(f"The {header} value is not a chain of PEM certificates: {problem}")
    return [b.der for b in scan.blocks if b.der is not None]


def encode_clientcert(ders: Sequence[bytes]) -> str:
    """The header value for certificates (DER, leaf first), encoded as the load balancer does."""
    if not ders:
        raise ValueError("encode_clientcert needs at least one certificate")
    return quote(b"".join(pem_encode(der) for der in ders), safe="+=/")


def parse_validity(value: str) -> tuple[datetime, datetime]:
    """``(not_before, not_after)`` in UTC from ``NotBefore=...Z;NotAfter=...Z``."""
    match = _VALIDITY.fullmatch(value.strip(_SPACE))
    try:
        if match is None:
            raise ValueError(f"expected {_VALIDITY_FORMAT}")
        before, after = (datetime.strptime(t, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
                         for t in match.groups())
    except ValueError as exc:
        raise InputError(f"Not a validity header value: {value[:80]!r} ({exc}).") from None
    return before, after


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def format_validity(not_before: datetime, not_after: datetime) -> str:
    """The validity header value; naive datetimes are taken as UTC, fractions of seconds dropped."""
    return f"NotBefore={_utc(not_before)};NotAfter={_utc(not_after)}"


def serial_header(serial: int) -> str:
    """The serial number header value: uppercase hex in whole bytes (``2`` -> ``02``)."""
    return serial_hex(serial)


def verify_mode_headers(cert: x509.Certificate, names: HeaderNames = DEFAULT) -> dict[str, str]:
    """The headers the load balancer sends in verify mode for the client's leaf certificate."""
    return {
        names.serial_number: serial_header(cert.serial_number),
        names.issuer: name_of(cert.issuer),
        names.subject: name_of(cert.subject),
        names.validity: format_validity(cert.not_valid_before_utc, cert.not_valid_after_utc),
        names.leaf: encode_clientcert([cert.public_bytes(Encoding.DER)]),
    }
