"""TrustStore: the bundle's certificates and the CRLs, parsed once and indexed."""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mtls_doctor.errors import InputError
from mtls_doctor.facts import (
    CertificateFacts,
    CrlFacts,
    Unparseable,
    certificate_facts,
    crl_facts,
    sha256_hex,
)
from mtls_doctor.pem import BundleScan, PemBlock, scan_bundle
from mtls_doctor.signatures import certificate_signed_by, crl_signed_by

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_CRL_BYTES = 256 * 1024 * 1024
_CRL_BEGIN, _CRL_END = b"-----BEGIN X509 CRL-----", b"-----END X509 CRL-----"

Source = str | os.PathLike[str] | bytes | tuple[str, bytes]
"""A path, ``-`` (standard input), the bytes, or (a name to show, the bytes)."""


@dataclass(frozen=True)
class BundleCertificate:
    """One certificate block of the bundle: its facts, or why it could not be parsed."""

    index: int
    block: PemBlock
    sha256: str
    facts: CertificateFacts | None
    problem: str | None

    @property
    def line(self) -> int | None:
        return self.block.line

    @property
    def der_size(self) -> int:
        return len(self.block.der or b"")


@dataclass(frozen=True)
class CrlFile:
    """One CRL file: ``format`` is ``pem``, ``der`` or ``unknown``; facts, or why not."""

    index: int
    file: str
    size: int
    format: str
    der: bytes | None
    facts: CrlFacts | None
    problem: str | None

    @property
    def sha256(self) -> str | None:
        return sha256_hex(self.der) if self.der is not None else None


@dataclass(frozen=True, eq=False)
class TrustStore:
    """A bundle and its CRLs as the load balancer would hold them."""

    bundle: str
    scan: BundleScan
    certificates: tuple[BundleCertificate, ...]
    crls: tuple[CrlFile, ...] = field(default=())

    @property
    def parsed(self) -> tuple[tuple[BundleCertificate, CertificateFacts], ...]:
        """The certificates that parsed, with their facts."""
        return tuple((c, c.facts) for c in self.certificates if c.facts is not None)

    @cached_property
    def _by_subject(self) -> dict[bytes, list[BundleCertificate]]:
        index: dict[bytes, list[BundleCertificate]] = {}
        for cert, facts in self.parsed:
            index.setdefault(facts.subject_der, []).append(cert)
        return index

    def candidates(self, issuer_der: bytes) -> list[BundleCertificate]:
        """Bundle certificates whose subject is this name."""
        return self._by_subject.get(issuer_der, [])

    @cached_property
    def issuers(self) -> dict[int, int]:
        """Bundle index -> index of the bundle certificate whose key signed it.

        A self-issued certificate is its own issuer: like AWS-LC with a partial chain, its
        self-signature is not checked. Other links are verified signatures.
        """
        links: dict[int, int] = {}
        for cert, facts in self.parsed:
            if facts.self_issued:
                links[cert.index] = cert.index
                continue
            for candidate in self.candidates(facts.issuer_der):
                assert candidate.facts is not None
                if certificate_signed_by(facts.certificate, candidate.facts.public_key):
                    links[cert.index] = candidate.index
                    break
        return links

    def crl_issuer(self, crl: CrlFacts) -> BundleCertificate | None:
        """The bundle certificate that issued this CRL: same name, and its key verifies it if
        any candidate's does (otherwise the first candidate by name)."""
        candidates = self.candidates(crl.issuer_der)
        for candidate in candidates:
            if candidate.facts is not None and crl_signed_by(crl.crl,
                                                             candidate.facts.certificate):
                return candidate
        return candidates[0] if candidates else None


def read_input(source: str | os.PathLike[str], limit: int, what: str) -> tuple[str, bytes]:
    """Read a file (``-`` for standard input) of at most ``limit`` bytes, or raise InputError."""
    name = os.fspath(source)
    if name == "-":
        data = sys.stdin.buffer.read(limit + 1)
        display = "<stdin>"
    else:
        path = Path(name)
        display = name
        try:
            if path.is_dir():
                raise InputError(f"{what} {name} is a folder, not a file.")
            size = path.stat().st_size
            if size > limit:
                raise InputError(f"{what} {name} is {size:,} bytes; no {what.lower()} can be "
                                 f"larger than {limit:,} bytes.", "check that this is the file "
                                 "you meant")
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise InputError(f"{what} {name} does not exist.") from None
        except PermissionError:
            raise InputError(f"{what} {name} cannot be read: permission denied.") from None
        except OSError as exc:
            raise InputError(f"{what} {name} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > limit:
        raise InputError(f"{what} {display} is larger than {limit:,} bytes; no "
                         f"{what.lower()} can be this large.")
    return display, data


def bundle_certificates(scan: BundleScan) -> tuple[BundleCertificate, ...]:
    """Parse every CERTIFICATE block of a scan, in order, numbered from 1."""
    certificates = []
    for index, block in enumerate(scan.certificate_blocks, start=1):
        facts, problem = None, None
        if block.der is None:
            problem = "its base64 could not be decoded"
        else:
            try:
                facts = certificate_facts(block.der)
            except Unparseable as exc:
                problem = str(exc)
        certificates.append(BundleCertificate(index, block, sha256_hex(block.der or block.raw),
                                              facts, problem))
    return tuple(certificates)


def read_crl(index: int, name: str, data: bytes) -> CrlFile:
    """Parse one CRL file's bytes (PEM or DER)."""
    begin = data.find(_CRL_BEGIN)
    end = data.find(_CRL_END, begin + 1)
    if begin != -1 and end != -1:
        fmt = "pem"
        try:
            body = data[begin + len(_CRL_BEGIN):end]
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            return CrlFile(index, name, len(data), fmt, None, None, "its base64 is broken")
    elif data[:1] == b"\x30":
        fmt, der = "der", data
    else:
        problem = "it is empty" if not data.strip() else "it is neither a PEM nor a DER CRL"
        return CrlFile(index, name, len(data), "unknown", None, None, problem)
    try:
        return CrlFile(index, name, len(data), fmt, der, crl_facts(der), None)
    except Unparseable as exc:
        return CrlFile(index, name, len(data), fmt, der, None, str(exc))


def _read(source: Source, limit: int, what: str, label: str) -> tuple[str, bytes]:
    if isinstance(source, tuple):
        return source
    return (label, source) if isinstance(source, bytes) else read_input(source, limit, what)


def load_trust_store(bundle: Source, crls: Iterable[Source] = ()) -> TrustStore:
    """Load a CA bundle and CRL files; each is a path, ``-`` for standard input, the bytes, or
    a (name, bytes) pair.

    Raises :class:`~mtls_doctor.errors.InputError` only when a file cannot be read at all;
    everything wrong *inside* the files is reported by :func:`~mtls_doctor.check_trust_store`.
    """
    name, data = _read(bundle, MAX_BUNDLE_BYTES, "Bundle", "<bytes>")
    scan = scan_bundle(data)
    crl_files: Sequence[CrlFile] = [
        read_crl(i, *_read(source, MAX_CRL_BYTES, "CRL file", f"<CRL bytes #{i}>"))
        for i, source in enumerate(crls, start=1)
    ]
    return TrustStore(name, scan, bundle_certificates(scan), tuple(crl_files))
