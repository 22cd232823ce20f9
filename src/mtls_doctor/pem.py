"""Bundle grammar: PEM blocks with line numbers, '#' comments, blank lines, stray text.

The load balancer accepts exactly this (alb-facts.md §2): PEM ``CERTIFICATE`` blocks, optional
lines starting with ``#`` that contain no ``-``, and nothing else; no blank lines.
:func:`scan_bundle` reads any bytes, never raises, and reports what it saw. DER certificates,
PKCS#7 and PKCS#12 files are recognised and their certificates extracted where that needs no
password, so ``fix`` can convert them.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from dataclasses import dataclass
from enum import Enum

_BEGIN = re.compile(rb"^-----BEGIN ([A-Z0-9 #._/-]*)-----$")
_END = re.compile(rb"^-----END ([A-Z0-9 #._/-]*)-----$")
_BASE64_LINE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")
_TEXT_DUMP = re.compile(rb"^\s*(Certificate:|Data:|Version:|Serial Number:|Issuer:|Subject:)")
_PKCS7_OID = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2 signedData
_BOM = b"\xef\xbb\xbf"
_PKCS12_PREFIX = bytes.fromhex("020103")  # PFX version 3, first field of a PKCS#12 file

KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY",
              "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY")


class BundleFormat(Enum):
    """What kind of file the bundle turned out to be."""

    PEM = "pem"
    EMPTY = "empty"
    DER_CERTIFICATE = "der-certificate"
    PKCS7 = "pkcs7"
    PKCS12 = "pkcs12"
    TEXT = "text"
    BINARY = "binary"


@dataclass(frozen=True)
class PemBlock:
    """One ``-----BEGIN X-----`` ... ``-----END X-----`` block, or a certificate found in DER input.

    ``raw`` is the block exactly as it stands in the file (for DER input: its PEM encoding);
    ``der`` is the decoded body, or None when the base64 is broken or the block never ends.
    """

    label: str
    line: int | None
    raw: bytes
    der: bytes | None


@dataclass(frozen=True)
class GrammarIssue:
    """A place where the file breaks the accepted grammar; ``rule`` is the rule id it triggers."""

    rule: str
    line: int | None
    message: str


@dataclass(frozen=True)
class BundleScan:
    """Everything :func:`scan_bundle` saw: the format, the blocks in order, the grammar issues."""

    format: BundleFormat
    blocks: tuple[PemBlock, ...]
    issues: tuple[GrammarIssue, ...]
    size: int

    @property
    def certificate_blocks(self) -> tuple[PemBlock, ...]:
        return tuple(b for b in self.blocks if b.label == "CERTIFICATE")


def pem_encode(der: bytes, label: str = "CERTIFICATE") -> bytes:
    """Standard PEM: 64-character base64 lines between BEGIN and END markers."""
    body = base64.b64encode(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([f"-----BEGIN {label}-----".encode(), *lines,
                       f"-----END {label}-----".encode()]) + b"\n"


def _span(first: int, last: int) -> str:
    return "" if first == last else f" (lines {first}-{last})"


def _printable(data: bytes, limit: int = 60) -> str:
    text = data.decode("latin-1")
    shown = text[:limit] + ("..." if len(text) > limit else "")
    return shown.encode("unicode_escape").decode("ascii")


class _Scanner:
    """Line-by-line state machine over a PEM-ish file."""

    def __init__(self) -> None:
        self.blocks: list[PemBlock] = []
        self.issues: list[GrammarIssue] = []
        self._blank_run: list[int] = []
        self._stray_run: list[tuple[int, bytes]] = []

    def issue(self, rule: str, line: int | None, message: str) -> None:
        self.issues.append(GrammarIssue(rule, line, message))

    def _flush_blank(self) -> None:
        if self._blank_run:
            first, last = self._blank_run[0], self._blank_run[-1]
            what = "A blank line" if first == last else f"{last - first + 1} blank lines"
            self.issue("bundle.blank-line", first,
                       f"{what}{_span(first, last)}; the bundle may not contain blank lines.")
            self._blank_run = []

    def _flush_stray(self) -> None:
        if self._stray_run:
            first, last = self._stray_run[0][0], self._stray_run[-1][0]
            sample = self._stray_run[0][1]
            dump = any(_TEXT_DUMP.match(text) for _, text in self._stray_run)
            kind = ("a text dump of a certificate (openssl x509 -text output)" if dump
                    else f"text that is neither PEM nor a '#' comment: {_printable(sample)!r}")
            self.issue("bundle.stray-text", first, f"{kind[0].upper()}{kind[1:]}"
                       f"{_span(first, last)}.")
            self._stray_run = []

    def _flush(self) -> None:
        self._flush_blank()
        self._flush_stray()

    def scan(self, lines: list[bytes]) -> None:
        block_label: str | None = None
        block_start = 0
        body: list[tuple[int, bytes]] = []
        for number, raw_line in enumerate(lines, start=1):
            line = raw_line.rstrip(b"\r\n\t ")
            if block_label is not None:
                if not line.startswith(b"-----") and line:  # the common case: a base64 line
                    body.append((number, line))
                    continue
                end = _END.match(line)
                if end and end.group(1).decode() == block_label:
                    self._finish_block(block_label, block_start, number, lines, body)
                    block_label = None
                    continue
                if _BEGIN.match(line) or _END.match(line):
                    self.issue("bundle.bad-base64", block_start,
                               f"The {block_label} block has no END line before line "
                               f"{number}.")
                    self.blocks.append(PemBlock(block_label, block_start,
                                                b"".join(lines[block_start - 1:number - 1]), None))
                    block_label = None
                    # fall through: the marker line is handled as outside a block
                else:
                    if not line:
                        self.issue("bundle.blank-line", number,
                                   f"A blank line inside the block that starts at line "
                                   f"{block_start}.")
                    else:
                        body.append((number, line))
                    continue
            begin = _BEGIN.match(line)
            if not line:
                self._flush_stray()
                self._blank_run.append(number)
            elif begin:
                self._flush()
                block_label, block_start, body = begin.group(1).decode(), number, []
            elif line.startswith(b"#"):
                self._flush()
                if b"-" in line:
                    self.issue("bundle.comment-dash", number,
                               "The comment contains a '-' character, which is not allowed.")
            else:
                self._flush_blank()
                self._stray_run.append((number, line))
        self._flush()
        if block_label is not None:
            self.issue("bundle.bad-base64", block_start,
                       f"The {block_label} block has no END line: the file is truncated.")
            self.blocks.append(PemBlock(block_label, block_start,
                                        b"".join(lines[block_start - 1:]), None))

    def _finish_block(self, label: str, start: int, end: int, lines: list[bytes],
                      body: list[tuple[int, bytes]]) -> None:
        raw = b"".join(lines[start - 1:end])
        if not raw.endswith(b"\n"):
            raw += b"\n"
        der = None
        try:  # fast path; on failure, find the first bad line to name it
            der = base64.b64decode(b"".join(text for _, text in body), validate=True)
            bad = None
        except (binascii.Error, ValueError):
            bad = next((n for n, text in body if not _BASE64_LINE.match(text)), None)
        if bad is not None:
            text = dict(body)[bad]
            why = ("an encrypted-PEM header" if b":" in text
                   else f"characters outside base64: {_printable(text)!r}")
            self.issue("bundle.bad-base64", bad, f"In the {label} block that starts at line "
                       f"{start}: {why}.")
        else:
            if der is None:
                self.issue("bundle.bad-base64", start, f"The {label} block is not valid base64 "
                           "(wrong length or padding).")
            elif not der:
                self.issue("bundle.bad-base64", start, f"The {label} block is empty.")
                der = None
        self.blocks.append(PemBlock(label, start, raw, der))
        if label != "CERTIFICATE":
            self.issue("bundle.not-a-certificate", start, _not_a_certificate(label))


def _not_a_certificate(label: str) -> str:
    if label in KEY_LABELS or label.endswith("PRIVATE KEY"):
        return (f"A {label} block: a private key has leaked into a file that is meant to be "
                "public. Remove it, and treat the key as compromised.")
    if label == "X509 CRL":
        return ("A CRL: CRLs are uploaded separately (AddTrustStoreRevocations), not in the CA "
                "bundle.")
    return f"A {label} block; only CERTIFICATE blocks are allowed."


def _binary_certificates(data: bytes) -> tuple[BundleFormat, list[bytes]]:
    """Recognise DER, PKCS#7 and PKCS#12 input; return the certificates found without a password."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7, pkcs12

    der = Encoding.DER
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            single = x509.load_der_x509_certificate(data)
            return BundleFormat.DER_CERTIFICATE, [single.public_bytes(der)]
        except ValueError:
            pass
        if _PKCS7_OID in data[:32]:
            try:
                certs = pkcs7.load_der_pkcs7_certificates(data)
            except ValueError:
                certs = []
            return BundleFormat.PKCS7, [c.public_bytes(der) for c in certs]
        if data[2:8].find(_PKCS12_PREFIX) != -1 or data[4:10].find(_PKCS12_PREFIX) != -1:
            for password in (None, b""):
                try:
                    _key, cert, extra = pkcs12.load_key_and_certificates(data, password)
                except (ValueError, TypeError):
                    continue
                found = ([cert] if cert else []) + list(extra)
                return BundleFormat.PKCS12, [c.public_bytes(der) for c in found]
            return BundleFormat.PKCS12, []
    return BundleFormat.BINARY, []


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\0" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > len(sample) // 50


_FORMAT_MESSAGES = {
    BundleFormat.DER_CERTIFICATE: "The file is a DER (binary) certificate; the API takes PEM only.",
    BundleFormat.PKCS7: "The file is PKCS#7 (.p7b) data; the API takes PEM certificates only.",
    BundleFormat.PKCS12: ("The file is PKCS#12 (.p12/.pfx) data, which also holds a private key; "
                          "the API takes PEM certificates only."),
    BundleFormat.BINARY: "The file is binary data, not a PEM bundle.",
    BundleFormat.TEXT: "The file has no PEM block at all.",
}


def scan_bundle(data: bytes) -> BundleScan:
    """Read a CA bundle the way the API reads it. Never raises; every problem is an issue."""
    if not data.strip():
        issue = GrammarIssue("bundle.empty", None, "The bundle is empty.")
        return BundleScan(BundleFormat.EMPTY, (), (issue,), len(data))
    has_marker = b"-----BEGIN " in data
    if not has_marker and _looks_binary(data):
        fmt, ders = _binary_certificates(data)
        blocks = tuple(PemBlock("CERTIFICATE", None, pem_encode(d), d) for d in ders)
        issue = GrammarIssue("bundle.not-pem", None, _FORMAT_MESSAGES[fmt] + (
            f" It holds {len(ders)} certificate(s); `mtls-doctor fix` converts them." if ders
            else ""))
        return BundleScan(fmt, blocks, (issue,), len(data))
    size = len(data)
    scanner = _Scanner()
    if data.startswith(_BOM):
        scanner.issue("bundle.stray-text", 1, "A UTF-8 byte-order mark starts the file.")
        data = data[len(_BOM):]
    scanner.scan(data.splitlines(keepends=True))
    issues = list(scanner.issues)
    fmt = BundleFormat.PEM
    if not scanner.blocks:
        only_comments = all(not line.strip() or line.startswith(b"#")
                            for line in data.splitlines())
        fmt = BundleFormat.EMPTY if only_comments else BundleFormat.TEXT
        issues = [GrammarIssue("bundle.empty", None, "The bundle holds no certificate.")
                  if only_comments else
                  GrammarIssue("bundle.not-pem", None, _FORMAT_MESSAGES[BundleFormat.TEXT]),
                  *(i for i in issues if i.rule != "bundle.stray-text" or only_comments)]
    elif not any(b.label == "CERTIFICATE" for b in scanner.blocks):
        issues.insert(0, GrammarIssue("bundle.empty", None,
                                      "The bundle holds no CERTIFICATE block."))
    return BundleScan(fmt, tuple(scanner.blocks), tuple(issues), size)
