"""The command line: exit codes, outputs, refusals, and hostile files as a user would meet them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtls_doctor.cli import run

EXAMPLES = Path(__file__).parents[1] / "examples"
GOOD, BROKEN, CRL = (EXAMPLES / n for n in ("good-bundle.pem", "broken-bundle.pem", "ca.crl.pem"))
AT = "--at=2026-06-01T00:00:00Z"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_good_bundle_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "check", GOOD, "--crl", CRL, AT)
    assert code == 0
    assert "ACCEPTED" in out and "root" in out


def test_broken_bundle_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "check", BROKEN, AT, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["accepted"] is False
    assert {f["rule"] for f in report["findings"]} >= {
        "bundle.blank-line", "bundle.comment-dash", "bundle.stray-text",
        "bundle.not-a-certificate", "cert.rsa-size", "cert.not-ca", "cert.expired",
        "bundle.duplicate"}


def test_fail_on_and_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    expired_only = ["--ignore", "bundle.duplicate"]
    assert cli(capsys, "check", GOOD, AT, "--at", "2046-01-01T00:00:00Z")[0] == 0  # warnings
    assert cli(capsys, "check", GOOD, "--at", "2046-01-01T00:00:00Z", "--fail-on",
               "warning", *expired_only)[0] == 1
    code, out, _ = cli(capsys, "check", GOOD, "--at", "2046-01-01T00:00:00Z", "--fail-on",
                       "warning", "--ignore", "cert.expired", "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["ignored_rules"] == ["cert.expired"]
    assert cli(capsys, "check", BROKEN, AT, "--fail-on", "never")[0] == 0


def test_ignored_errors_still_count_for_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = cli(capsys, "check", BROKEN, AT, "--format", "json", "--ignore",
                       "cert.rsa-size")
    report = json.loads(out)
    assert "cert.rsa-size" not in {f["rule"] for f in report["findings"]}
    assert report["accepted"] is False


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "check", GOOD, "--ignore", "cert.nope")[0] == 2
    assert cli(capsys, "check", GOOD, "--at", "yesterday")[0] == 2
    assert cli(capsys, "check", GOOD, "--quota", "ca-certificate-size=99999")[0] == 2
    assert cli(capsys, "check", GOOD, "--quota", "nonsense")[0] == 2
    assert cli(capsys, "check", "-", "--crl", "-")[0] == 2
    assert cli(capsys, "nope")[0] == 2


def test_quota_can_be_raised(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bundle = tmp_path / "many.pem"
    bundle.write_bytes(GOOD.read_bytes() * 13)  # 26 certificates (duplicates, warnings only)
    _, out, _ = cli(capsys, "check", bundle, AT, "--format", "json")
    assert "bundle.too-many-certificates" in out
    _, out, _ = cli(capsys, "check", bundle, AT, "--format", "json", "--quota",
                    "ca-certificates=30")
    assert "bundle.too-many-certificates" not in out


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02" * 1000, b"hello\n", b"\xff\xfe junk",
                                     b"-----BEGIN CERTIFICATE-----\nMII", "é".encode("utf-16")])
def test_unreadable_content_gives_findings_not_tracebacks(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "in.pem"
    path.write_bytes(content)
    code, out, err = cli(capsys, "check", path, "--format", "json")
    assert code == 1
    assert json.loads(out)["accepted"] is False
    assert "Traceback" not in err


def test_missing_file_folder_and_oversize_exit_3(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    code, _, err = cli(capsys, "check", tmp_path / "missing.pem")
    assert code == 3 and "does not exist" in err
    code, _, err = cli(capsys, "check", tmp_path)
    assert code == 3 and "folder" in err
    huge = tmp_path / "huge.pem"
    with huge.open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)  # sparse: no disk used
    code, _, err = cli(capsys, "check", huge)
    assert code == 3 and "bytes" in err
    code, _, err = cli(capsys, "check", GOOD, "--crl", tmp_path / "nope.crl")
    assert code == 3 and "nope.crl" in err


def test_permission_denied_exit_3(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated, because the tests may run as root, who reads files whatever their mode."""
    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    code, _, err = cli(capsys, "check", GOOD)
    assert code == 3 and "permission denied" in err


def test_output_file_and_never_over_the_input(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    copy = tmp_path / "bundle.pem"
    copy.write_bytes(GOOD.read_bytes())
    report = tmp_path / "out" / "report.sarif"
    assert cli(capsys, "check", copy, AT, "--format", "sarif", "-o", report)[0] == 0
    assert json.loads(report.read_text())["version"] == "2.1.0"
    code, _, err = cli(capsys, "check", copy, "-o", copy)
    assert code == 2 and "never overwrites" in err
    assert copy.read_bytes() == GOOD.read_bytes()


def test_stdin_bundle(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(GOOD.read_bytes())))
    code, out, _ = cli(capsys, "check", "-", AT, "--format", "json")
    assert code == 0 and json.loads(out)["bundle"] == "<stdin>"


def test_markup_and_control_characters_in_subjects_are_escaped(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from factory import bundle, make_ca

    evil = make_ca("[bold red]pwned[/] \x1b[31m\x07")
    path = tmp_path / "evil.pem"
    path.write_bytes(bundle(evil))
    _, out, _ = cli(capsys, "check", path)
    assert "[bold red]pwned[/]" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31m" in out


def test_rules_command(capsys: pytest.CaptureFixture[str]) -> None:
    from mtls_doctor.rules import RULES

    code, out, _ = cli(capsys, "rules", "--format", "json")
    listed = json.loads(out)
    assert code == 0 and [r["id"] for r in listed] == list(RULES)
    assert all(r["basis"] in ("documented", "inferred") and r["citation"].startswith("https://")
               for r in listed)
    code, out, _ = cli(capsys, "rules")
    assert code == 0 and "cert.not-ca" in out and "L-43FE5A42" in out


def test_split_writes_byte_identical_blocks(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    code, out, err = cli(capsys, "split", BROKEN, "--out", tmp_path)
    assert out.count("cert.") == 6
    assert code == 0 and "PRIVATE KEY" in err
    files = sorted(tmp_path.glob("cert.*.pem"), key=lambda p: int(p.name.split(".")[1]))
    assert len(files) == 6
    original = BROKEN.read_bytes()
    assert all(f.read_bytes() in original for f in files)
    assert cli(capsys, "split", BROKEN, "--out", tmp_path)[0] == 2  # refuses to overwrite
    assert cli(capsys, "split", BROKEN, "--out", tmp_path, "--force")[0] == 0


def test_fix_writes_an_accepted_bundle(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    out_file = tmp_path / "fixed.pem"
    code, out, _ = cli(capsys, "fix", BROKEN, "-o", out_file, AT)
    assert code == 0
    assert "removed #3" in out and "cert.rsa-size" in out and "PRIVATE KEY" in out
    assert cli(capsys, "check", out_file, AT)[0] == 0
    text = out_file.read_text()
    assert text.startswith("# ") and "\n\n" not in text
    assert all("-" not in line for line in text.splitlines() if line.startswith("#"))


def test_fix_refuses_existing_output_and_its_input(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    out_file = tmp_path / "fixed.pem"
    out_file.write_text("mine")
    code, _, err = cli(capsys, "fix", BROKEN, "-o", out_file)
    assert code == 2 and "--force" in err and out_file.read_text() == "mine"
    copy = tmp_path / "b.pem"
    copy.write_bytes(BROKEN.read_bytes())
    code, _, _ = cli(capsys, "fix", copy, "-o", copy, "--force")
    assert code == 2 and copy.read_bytes() == BROKEN.read_bytes()
    assert cli(capsys, "fix", BROKEN, "-o", out_file, "--force", AT)[0] == 0


def test_fix_drop_expired_and_keep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "fixed.pem"
    cli(capsys, "fix", BROKEN, "-o", out_file, AT, "--drop-expired")
    _, out, _ = cli(capsys, "check", out_file, AT, "--format", "json")
    assert len(json.loads(out)["certificates"]) == 2
    cli(capsys, "fix", BROKEN, "-o", out_file, AT, "--keep", "cert.rsa-size", "--force")
    _, out, _ = cli(capsys, "check", out_file, AT, "--format", "json")
    assert any(c["key"]["bits"] == 1024 for c in json.loads(out)["certificates"])


def test_fix_converts_der_input(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                openssl) -> None:  # type: ignore[no-untyped-def]
    der = tmp_path / "root.der"
    subprocess.run([openssl.program, "x509", "-in", str(GOOD), "-outform", "DER", "-out",
                    str(der)], check=True)
    code, out, _ = cli(capsys, "check", der, "--format", "json")
    assert code == 1 and "bundle.not-pem" in out
    fixed = tmp_path / "root.pem"
    assert cli(capsys, "fix", der, "-o", fixed, AT)[0] == 0
    assert cli(capsys, "check", fixed, AT)[0] == 0


def test_console_script_version_and_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "mtls-doctor"
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "mtls-doctor" in done.stdout
    done = subprocess.run([sys.executable, "-m", "mtls_doctor", "check", str(tmp_path / "x")],
                          capture_output=True, text=True)
    assert done.returncode == 3 and "Traceback" not in done.stderr


def test_output_to_a_device_writes_through_and_keeps_the_device(
        capsys: pytest.CaptureFixture[str]) -> None:
    import stat

    assert cli(capsys, "check", GOOD, AT, "-o", "/dev/null")[0] == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_through_a_symlink_updates_its_target(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert cli(capsys, "check", GOOD, AT, "--format", "json", "-o", link)[0] == 0
    assert link.is_symlink() and json.loads(real.read_text())["accepted"] is True


def test_failed_write_leaves_no_temporary_file(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    code, _, err = cli(capsys, "check", GOOD, AT, "-o", tmp_path / "r.txt")
    assert code == 3 and "No space left" in err
    assert list(tmp_path.iterdir()) == []
