"""The ``check`` JSON document of contract.md (schema: schema/check.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from mtls_doctor import __version__
from mtls_doctor.check import Report
from mtls_doctor.facts import KeyInfo, iso
from mtls_doctor.report import RenderOptions
from mtls_doctor.report.common import refusing_calls, verdict
from mtls_doctor.rules import Finding, Severity
from mtls_doctor.signatures import crl_signed_by
from mtls_doctor.truststore import BundleCertificate, CrlFile


def _key(key: KeyInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"type": key.type, "bits": key.bits}
    if key.curve is not None:
        out["curve"] = key.curve
    return out


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {"rule": finding.rule, "severity": finding.severity.value, "message": finding.message,
            "certificate": finding.certificate, "crl": finding.crl, "line": finding.line,
            "fix": finding.fix, "basis": finding.basis.value}


def certificate_dict(report: Report, cert: BundleCertificate) -> dict[str, Any]:
    findings = report.for_certificate(cert.index)
    out: dict[str, Any] = {"index": cert.index, "line": cert.line, "sha256": cert.sha256,
                           "der_size": cert.der_size, "verdict": verdict(findings)}
    facts = cert.facts
    if facts is None:
        out.update(dict.fromkeys(
            ("subject", "issuer", "serial", "version", "not_before", "not_after", "key",
             "signature_algorithm", "is_ca", "path_length", "key_usage", "extended_key_usage",
             "subject_key_id", "authority_key_id", "issuer_certificate")))
    else:
        out.update({
            "subject": facts.subject, "issuer": facts.issuer, "serial": facts.serial,
            "version": facts.version, "not_before": iso(facts.not_before),
            "not_after": iso(facts.not_after), "key": _key(facts.key),
            "signature_algorithm": facts.signature_algorithm, "is_ca": facts.is_ca,
            "path_length": facts.path_length,
            "key_usage": list(facts.key_usage) if facts.key_usage is not None else None,
            "extended_key_usage": (list(facts.extended_key_usage)
                                   if facts.extended_key_usage is not None else None),
            "subject_key_id": facts.subject_key_id, "authority_key_id": facts.authority_key_id,
            "issuer_certificate": report.store.issuers.get(cert.index),
        })
    out["findings"] = [finding_dict(f) for f in findings]
    return out


def crl_dict(report: Report, crl: CrlFile) -> dict[str, Any]:
    facts = crl.facts
    issuer = report.store.crl_issuer(facts) if facts is not None else None
    signature_valid = None
    if facts is not None and issuer is not None and issuer.facts is not None:
        signature_valid = crl_signed_by(facts.crl, issuer.facts.certificate)
    return {
        "index": crl.index, "file": crl.file, "format": crl.format, "size": crl.size,
        "sha256": crl.sha256,
        "issuer": facts.issuer if facts else None,
        "this_update": iso(facts.this_update) if facts else None,
        "next_update": iso(facts.next_update) if facts else None,
        "entries": facts.entries if facts else None,
        "signature_algorithm": facts.signature_algorithm if facts else None,
        "issuer_certificate": issuer.index if issuer is not None else None,
        "signature_valid": signature_valid,
        "findings": [finding_dict(f) for f in report.for_crl(crl.index)],
    }


def to_dict(report: Report) -> dict[str, Any]:
    """The whole report as plain data."""
    return {
        "tool": {"name": "mtls-doctor", "version": __version__},
        "bundle": report.store.bundle,
        "accepted": report.accepted,
        "refused_by": refusing_calls(report),
        "profile": report.profile.name,
        "checked_at": iso(report.at),
        "warn_days": report.warn_days,
        "quotas": {q.name: q.value for q in report.profile.quotas.values()},
        "certificates": [certificate_dict(report, c) for c in report.store.certificates],
        "crls": [crl_dict(report, c) for c in report.store.crls],
        "findings": [finding_dict(f) for f in report.shown],
        "summary": {
            "certificates": len(report.store.certificates),
            "crls": len(report.store.crls),
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "info": report.count(Severity.INFO),
            "ignored_rules": list(report.ignored),
        },
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
