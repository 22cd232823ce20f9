"""fix_bundle: the bundle the API accepts, and what had to go to get there."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mtls_doctor.check import Report
from mtls_doctor.pem import pem_encode
from mtls_doctor.rules import Finding, Severity
from mtls_doctor.truststore import BundleCertificate

_UNSAFE_COMMENT = re.compile(r"[^ -~]|-")


@dataclass(frozen=True)
class Removal:
    """A certificate left out of the fixed bundle, and the findings that made it go."""

    certificate: BundleCertificate
    reasons: tuple[Finding, ...]


@dataclass(frozen=True)
class FixResult:
    """The fixed bundle's bytes, the certificates kept and removed, and other blocks dropped."""

    data: bytes
    kept: tuple[BundleCertificate, ...]
    removed: tuple[Removal, ...]
    dropped_blocks: tuple[str, ...]


def comment_for(subject: str) -> str:
    """A '#' comment line naming a subject, safe for the bundle grammar (no '-', ASCII only)."""
    return "# " + _UNSAFE_COMMENT.sub("_", subject).strip()


def _blocking(finding: Finding, keep: set[str], drop_expired: bool) -> bool:
    if finding.rule in keep:
        return False
    return (finding.severity is Severity.ERROR or finding.rule == "bundle.duplicate"
            or (drop_expired and finding.rule == "cert.expired"))


def fix_bundle(report: Report, *, drop_expired: bool = False,
               keep: Iterable[str] = ()) -> FixResult:
    """Rewrite the bundle in the accepted grammar, without the certificates the API would refuse.

    Uses every finding of ``report``, ignored or not; ``keep`` names rules whose findings do not
    remove a certificate; ``drop_expired`` also removes expired CAs.
    """
    keep_rules = set(keep)
    kept: list[BundleCertificate] = []
    removed: list[Removal] = []
    parts: list[bytes] = []
    for cert in report.store.certificates:
        reasons = tuple(f for f in report.findings if f.certificate == cert.index
                        and _blocking(f, keep_rules, drop_expired))
        if reasons or cert.facts is None or cert.block.der is None:
            removed.append(Removal(cert, reasons))
            continue
        kept.append(cert)
        parts.append(comment_for(cert.facts.subject).encode("ascii") + b"\n")
        parts.append(pem_encode(cert.block.der))
    dropped = tuple(f"{b.label} block at line {b.line}" for b in report.store.scan.blocks
                    if b.label != "CERTIFICATE")
    return FixResult(b"".join(parts), tuple(kept), tuple(removed), dropped)
