"""The client chain as the load balancer receives it: certificates in the order sent, leaf first.

Reads what users have: PEM chain files, DER, PKCS#7 (.p7b), PKCS#12 (.p12/.pfx, with a password),
and ``X-Amzn-Mtls-Clientcert`` header values. Binary input that is none of these is taken as one
certificate as sent, so that the verdict, not a read error, says it is malformed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from mtls_doctor.errors import InputError
from mtls_doctor.pem import BundleFormat, scan_bundle
from mtls_doctor.truststore import read_input

MAX_CHAIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ClientChain:
    """The DER certificates a client sends, leaf first, and where they were read from."""

    ders: tuple[bytes, ...]
    source: str


def _looks_like_header(data: bytes) -> bool:
    head = data.lstrip()[:40]
    return head.startswith((b"-----BEGIN%20", b'"-----BEGIN%20')) or head.startswith(b"%2D%2D")


def _pkcs12(data: bytes, password: bytes | None, source: str) -> tuple[bytes, ...]:
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

    try:
        _key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except ValueError:
        hint = "give its password with --password" if password is None else "wrong password?"
        raise InputError(f"cannot open the PKCS#12 file {source}: {hint}") from None
    found = ([cert] if cert is not None else []) + list(extra)
    return tuple(c.public_bytes(Encoding.DER) for c in found)


def leaf_first(ders: Sequence[bytes]) -> tuple[bytes, ...]:
    """Certificates of an unordered set (a PKCS#7 SET OF sorts them by bytes) in chain order: the
    one that issued none of the others first, then each one's issuer. Unparseable ones go last."""
    from cryptography import x509

    parsed: list[tuple[bytes, x509.Certificate]] = []
    broken = []
    for der in ders:
        try:
            parsed.append((der, x509.load_der_x509_certificate(der)))
        except ValueError:
            broken.append(der)
    issuers = {c.issuer.public_bytes() for _, c in parsed if c.issuer != c.subject}
    rest = sorted(parsed, key=lambda p: p[1].subject.public_bytes() in issuers)
    ordered = []
    while rest:
        der, cert = rest.pop(0)
        ordered.append(der)
        following = [p for p in rest if p[1].subject == cert.issuer]
        rest = following + [p for p in rest if p not in following]
    return (*ordered, *broken)


def chain_from_bytes(data: bytes, source: str = "<bytes>",
                     password: bytes | None = None) -> ClientChain:
    """Parse a chain from a file's bytes (see the module docstring for the formats)."""
    if _looks_like_header(data):
        from mtls_doctor.headers import decode_clientcert

        return ClientChain(tuple(decode_clientcert(data)), source)
    scan = scan_bundle(data)
    if scan.format is BundleFormat.PKCS12 and (password is not None or not scan.blocks):
        found = _pkcs12(data, password, source)
        if not found:
            raise InputError(f"the PKCS#12 file {source} holds no certificate")
        return ClientChain((found[0], *leaf_first(found[1:])), source)
    if scan.format is BundleFormat.BINARY:
        return ClientChain((data,), source)
    broken = [b for b in scan.certificate_blocks if b.der is None]
    if broken:
        raise InputError(f"the certificate block at line {broken[0].line} of {source} is not "
                         "valid base64 (truncated or corrupted)")
    ders = tuple(b.der for b in scan.certificate_blocks if b.der is not None)
    if not ders:
        raise InputError(f"{source} holds no certificate")
    return ClientChain(leaf_first(ders) if scan.format is BundleFormat.PKCS7 else ders, source)


def read_chain(source: str | os.PathLike[str] | bytes,
               password: bytes | None = None) -> ClientChain:
    """Read a chain from a path (``-``: standard input) or bytes."""
    if isinstance(source, bytes):
        return chain_from_bytes(source, "<bytes>", password)
    name, data = read_input(source, MAX_CHAIN_BYTES, "Chain file")
    return chain_from_bytes(data, name, password)
