"""SARIF 2.1.0, so code-scanning services show findings inline at bundle lines."""

from __future__ import annotations

import json
from typing import Any

from mtls_doctor import __version__
from mtls_doctor.check import Report
from mtls_doctor.report import RenderOptions
from mtls_doctor.rules import RULES, Finding, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(name: str) -> str:
    return name.replace("\\", "/").removeprefix("./") if not name.startswith("<") else "stdin"


def _location(report: Report, finding: Finding) -> dict[str, Any]:
    if finding.crl is not None:
        uri = _uri(report.store.crls[finding.crl - 1].file)
        return {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(report.store.bundle)}}
    if finding.line is not None:
        physical["region"] = {"startLine": finding.line}
    return {"physicalLocation": physical}


def to_dict(report: Report) -> dict[str, Any]:
    rules = list(RULES.values())
    index = {rule.id: i for i, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mtls-doctor",
                "version": __version__,
                "informationUri": "https://github.com/mtls-doctor/mtls-doctor",
                "rules": [{
                    "id": rule.id,
                    "name": rule.id,
                    "shortDescription": {"text": rule.description},
                    "fullDescription": {"text": f"{rule.description} Basis: {rule.basis.value}."},
                    "help": {"text": rule.fix},
                    "helpUri": rule.citation,
                    "defaultConfiguration": {"level": _LEVELS[rule.severity]},
                    "properties": {"basis": rule.basis.value, "severity": rule.severity.value},
                } for rule in rules],
            }},
            "results": [{
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _LEVELS[f.severity],
                "message": {"text": f"{f.message} Fix: {f.fix}"},
                "locations": [_location(report, f)],
                "properties": {"certificate": f.certificate, "crl": f.crl,
                               "basis": f.basis.value},
            } for f in report.shown],
        }],
    }


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"
