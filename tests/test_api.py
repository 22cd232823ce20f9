"""The public API, its laziness, and the real Mozilla bundle (certifi) end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import certifi
import jsonschema
import pytest

import mtls_doctor
from mtls_doctor import check_trust_store, load_trust_store
from mtls_doctor.report import Format, RenderOptions, renderer
from mtls_doctor.rules import RULES, Severity

SCHEMA = json.loads((Path(__file__).parents[1] / "schema" / "check.schema.json").read_text())


def test_all_is_complete_and_every_name_resolves() -> None:
    assert set(mtls_doctor.__all__) == set(mtls_doctor._EXPORTS) | {"__version__"}
    for name in mtls_doctor.__all__:
        assert getattr(mtls_doctor, name) is not None


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = mtls_doctor.no_such_thing  # type: ignore[attr-defined]


def test_version_and_package_import_stay_light() -> None:
    code = ("import sys, mtls_doctor.cli; heavy = [m for m in ('cryptography', 'rich') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_format_has_a_renderer() -> None:
    for fmt in Format:
        assert callable(renderer(fmt))


@pytest.fixture(scope="module")
def mozilla():  # type: ignore[no-untyped-def]
    return check_trust_store(load_trust_store(certifi.where()))


def test_mozilla_bundle_every_certificate_parsed(mozilla) -> None:  # type: ignore[no-untyped-def]
    store = mozilla.store
    assert len(store.certificates) == certifi.contents().count("-----BEGIN CERTIFICATE-----")
    assert all(c.facts is not None for c in store.certificates)


def test_mozilla_sha1_roots_flagged(mozilla) -> None:  # type: ignore[no-untyped-def]
    flagged = {f.certificate for f in mozilla.findings if f.rule == "cert.signature-algorithm"}
    sha1 = {c.index for c in mozilla.store.certificates
            if c.facts.certificate.signature_hash_algorithm.name == "sha1"}
    assert sha1 and flagged == sha1
    assert all(f.severity is Severity.ERROR for f in mozilla.findings
               if f.rule == "cert.signature-algorithm")


def test_mozilla_serial_zero_roots_warned_not_crashed(mozilla) -> None:  # type: ignore[no-untyped-def]
    zero = [c for c in mozilla.store.certificates if c.facts.serial_number == 0]
    serial_findings = {f.certificate for f in mozilla.findings if f.rule == "cert.serial"}
    assert {c.index for c in zero} <= serial_findings
    assert all(c.facts.parse_warnings for c in zero)


def test_mozilla_quota_findings(mozilla) -> None:  # type: ignore[no-untyped-def]
    rules = {f.rule for f in mozilla.findings}
    assert {"bundle.too-many-certificates", "bundle.subject-size"} <= rules
    assert not mozilla.accepted


def test_mozilla_json_matches_schema_and_contract(mozilla) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(renderer(Format.JSON)(mozilla, RenderOptions()))
    jsonschema.validate(document, SCHEMA)
    first = document["certificates"][0]
    for field in ("index", "line", "subject", "issuer", "serial", "version", "not_before",
                  "not_after", "key", "signature_algorithm", "is_ca", "path_length", "key_usage",
                  "extended_key_usage", "sha256", "findings"):
        assert field in first
    assert document["accepted"] is False


def test_mozilla_sarif_rules_and_locations(mozilla) -> None:  # type: ignore[no-untyped-def]
    sarif = json.loads(renderer(Format.SARIF)(mozilla, RenderOptions()))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(RULES)
    located = [r for r in run["results"] if r["ruleId"] == "cert.signature-algorithm"]
    assert located and all(r["locations"][0]["physicalLocation"]["region"]["startLine"] > 0
                           for r in located)
    levels = {r["level"] for r in run["results"]}
    assert levels <= {"error", "warning", "note"}


def test_mozilla_text_report_renders(mozilla) -> None:  # type: ignore[no-untyped-def]
    text = renderer(Format.TEXT)(mozilla, RenderOptions(width=200))
    assert "Hierarchy" in text and "REJECTED" in text
    assert "cert.signature-algorithm" in text


def test_openssl_agrees_on_mozilla_facts(mozilla, openssl) -> None:  # type: ignore[no-untyped-def]
    """The openssl command line, as an independent oracle, on every Mozilla root."""
    for cert in mozilla.store.certificates:
        out = openssl("x509", "-noout", "-serial", "-fingerprint", "-sha256", "-subject",
                      "-nameopt", "RFC2253,-esc_msb", input=cert.block.raw)
        fields = dict(line.split("=", 1) for line in out.splitlines())
        facts = cert.facts
        assert fields["sha256 Fingerprint"].replace(":", "") == cert.sha256
        assert int(fields["serial"], 16) == facts.serial_number
        assert fields["subject"] == facts.subject


def test_json_check_does_not_import_rich() -> None:
    bundle = Path(__file__).parents[1] / "examples" / "good-bundle.pem"
    code = ("import sys; from mtls_doctor.cli import run; "
            f"run(['check', {str(bundle)!r}, '--format', 'json', '-o', '/dev/null']); "
            "print('rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
