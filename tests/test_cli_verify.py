"""mtls-doctor verify as a user runs it: files, headers, batches, exit codes, hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory import DAY, NOW, bundle, make_ca, make_leaf
from mtls_doctor.headers import encode_clientcert
from test_cli import cli


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("verify")
    root = make_ca("CLI Verify Root", key="p256")
    inter = make_ca("CLI Verify Inter", issuer=root, key="p256")
    leaf = make_leaf("cli verify client", inter, key="p256")
    old = make_leaf("cli verify old", inter, key="p256", not_before=NOW - 9 * DAY,
                    not_after=NOW - DAY)
    paths = {"bundle": folder / "bundle.pem", "chain": folder / "chain.pem",
             "old": folder / "old.pem", "der": folder / "leaf.der",
             "headers": folder / "headers.txt", "batch": folder / "batch"}
    paths["bundle"].write_bytes(bundle(root))
    paths["chain"].write_bytes(leaf.pem + inter.pem)
    paths["old"].write_bytes(old.pem + inter.pem)
    paths["der"].write_bytes(leaf.der)
    paths["headers"].write_text(encode_clientcert([leaf.der, inter.der]) + "\n\n"
                                + encode_clientcert([old.der, inter.der]) + "\n%ZZ\n")
    paths["batch"].mkdir()
    (paths["batch"] / "a.pem").write_bytes(leaf.pem + inter.pem)
    (paths["batch"] / "b.pem").write_bytes(leaf.pem + inter.pem)
    return paths


def test_success_text(capsys: pytest.CaptureFixture[str], pki: dict[str, Path]) -> None:
    code, out, _ = cli(capsys, "verify", pki["chain"], "--trust-store", pki["bundle"])
    assert code == 0
    assert out.startswith("Success") and "anchor" in out and "trust store #1" in out


def test_failed_json_follows_the_contract(capsys: pytest.CaptureFixture[str],
                                          pki: dict[str, Path]) -> None:
    code, out, _ = cli(capsys, "verify", pki["old"], "--trust-store", pki["bundle"],
                       "--format", "json")
    verdict = json.loads(out)
    assert code == 1
    assert verdict["tls_verify_status"] == "Failed:ClientCertExpired"
    assert set(verdict) >= {"tls_verify_status", "reason", "fix", "chain", "anchor", "problems"}
    assert verdict["anchor"] == 1 and len(verdict["chain"]) == 3
    assert verdict["problems"][0] == {"code": "ClientCertExpired", "certificate": 1,
                                      "message": verdict["reason"], "basis": "documented"}
    code, out, _ = cli(capsys, "verify", pki["old"], "--trust-store", pki["bundle"],
                       "--ignore-client-certificate-expiry")
    assert code == 0


def test_der_leaf_with_the_intermediate_missing(capsys: pytest.CaptureFixture[str],
                                                pki: dict[str, Path]) -> None:
    code, out, _ = cli(capsys, "verify", pki["der"], "--trust-store", pki["bundle"])
    assert code == 1 and out.startswith("Failed:ClientCertUntrusted")


def test_header_value(capsys: pytest.CaptureFixture[str], pki: dict[str, Path]) -> None:
    value = pki["headers"].read_text().splitlines()[0]
    code, out, _ = cli(capsys, "verify", "--header", value, "--trust-store", pki["bundle"],
                       "--format", "json")
    assert code == 0 and json.loads(out)["tls_verify_status"] == "Success"
    code, _, err = cli(capsys, "verify", "--header", "-----BEGIN%2", "--trust-store",
                       pki["bundle"])
    assert code == 3 and "percent escape" in err


def test_headers_file_batch(capsys: pytest.CaptureFixture[str], pki: dict[str, Path]) -> None:
    code, out, err = cli(capsys, "verify", "--headers-file", pki["headers"], "--trust-store",
                         pki["bundle"], "--format", "json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r["line"] for r in records] == [1, 3, 4]
    assert [r.get("tls_verify_status") for r in records] == [
        "Success", "Failed:ClientCertExpired", None]
    assert "error" in records[2]
    assert "3 chain(s)" in err and "Success 1" in err


def test_folder_batch_all_success(capsys: pytest.CaptureFixture[str],
                                  pki: dict[str, Path]) -> None:
    code, out, err = cli(capsys, "verify", pki["batch"], "--trust-store", pki["bundle"])
    assert code == 0 and out.count(": Success:") == 2 and "2 chain(s): Success 2" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str], pki: dict[str, Path]) -> None:
    assert cli(capsys, "verify", "--trust-store", pki["bundle"])[0] == 2
    assert cli(capsys, "verify", pki["chain"], "--header", "x", "--trust-store",
               pki["bundle"])[0] == 2
    assert cli(capsys, "verify", pki["chain"])[0] == 2


@pytest.mark.parametrize("content", [b"", b"hello", b"\x30\x82\xff\xff" + b"\x00" * 50,
                                     b"-----BEGIN CERTIFICATE-----\nMII\n"])
def test_hostile_chain_files(capsys: pytest.CaptureFixture[str], pki: dict[str, Path],
                             tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "chain.bin"
    path.write_bytes(content)
    code, out, err = cli(capsys, "verify", path, "--trust-store", pki["bundle"])
    assert code in (1, 3) and "Traceback" not in err
    assert out.startswith("Failed:ClientCertInvalid") or "mtls-doctor:" in err


def test_pkcs12_needs_its_password(capsys: pytest.CaptureFixture[str], pki: dict[str, Path],
                                   tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    from factory import key

    leaf = x509.load_pem_x509_certificate(pki["chain"].read_bytes())
    private = key("p256", slot="cli verify client")
    p12 = tmp_path / "client.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"client", private, leaf, None, BestAvailableEncryption(b"pw")))  # type: ignore[arg-type]
    code, _, err = cli(capsys, "verify", p12, "--trust-store", pki["bundle"])
    assert code == 3 and "--password" in err
    code, out, _ = cli(capsys, "verify", p12, "--password", "pw", "--trust-store", pki["bundle"])
    assert code == 1 and out.startswith("Failed:ClientCertUntrusted")  # no intermediate inside


def test_pkcs7_and_stdin_chains(capsys: pytest.CaptureFixture[str], pki: dict[str, Path],
                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    certs = x509.load_pem_x509_certificates(pki["chain"].read_bytes())
    p7b = tmp_path / "chain.p7b"
    p7b.write_bytes(pkcs7.serialize_certificates(certs, Encoding.DER))
    code, out, _ = cli(capsys, "verify", p7b, "--trust-store", pki["bundle"])
    assert code == 0 and out.startswith("Success")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pki["chain"].read_bytes())))
    code, out, _ = cli(capsys, "verify", "-", "--trust-store", pki["bundle"])
    assert code == 0 and out.startswith("Success")
