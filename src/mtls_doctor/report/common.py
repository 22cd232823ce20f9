"""Small helpers the renderers share: times, verdicts, the API that would refuse."""

from __future__ import annotations

from mtls_doctor.check import Report
from mtls_doctor.rules import Finding, Severity


def verdict(findings: tuple[Finding, ...]) -> str:
    """``rejected`` (the API refuses it), ``warning``, ``info`` or ``ok``."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "rejected"
    if Severity.WARNING in severities:
        return "warning"
    return "info" if severities else "ok"


def refusing_calls(report: Report) -> list[str]:
    """The API calls that would fail on these files, as they are."""
    errors = [f for f in report.findings if f.severity is Severity.ERROR]  # ignored or not
    calls = []
    if any(not f.rule.startswith("crl.") for f in errors):
        calls.append("CreateTrustStore/ModifyTrustStore")
    if any(f.rule.startswith("crl.") for f in errors):
        calls.append("AddTrustStoreRevocations")
    return calls
