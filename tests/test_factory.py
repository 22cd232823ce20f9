"""The test factory makes what it claims; checked with ``cryptography`` and ``openssl``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from factory import (
    OPENSSL_KINDS,
    PRIVATE_OID,
    big_ca,
    bundle,
    crl_with_negative_serial,
    crl_without_next_update,
    der,
    key,
    make_ca,
    make_crl,
    make_leaf,
    openssl_ca,
    pem,
    requires_openssl,
    reserial,
    unknown_critical_ca,
)


def run_openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_keys_are_cached_per_kind_and_slot() -> None:
    assert key("rsa2048") is key("rsa2048", slot=0)
    assert key("rsa2048", slot=1) is not key("rsa2048")
    assert key("rsa2048", slot=1).public_key() != key("rsa2048").public_key()
    assert key("p256") is not key("secp256k1")
    with pytest.raises(ValueError, match="unknown key kind"):
        key("rsa")


def test_make_ca_defaults_and_omissions() -> None:
    root = make_ca()
    cert = root.cert
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length is None
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3651
    assert root.pem.startswith(b"-----BEGIN CERTIFICATE-----") and der(root.pem) == root.der

    bare = make_ca("Bare CA", ca=None, key_usage=None, ski=False, aki=False, serial=42)
    assert bare.cert.serial_number == 42
    assert len(bare.cert.extensions) == 0
    assert bare.key is not root.key  # the default key slot is the name


@requires_openssl
def test_chain_verifies_with_openssl(tmp_path: Path) -> None:
    root = make_ca()
    inter = make_ca("Test Intermediate CA", issuer=root, path_length=0)
    leaf = make_leaf("client.example", inter)
    assert leaf.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == (
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    )
    result = run_openssl(
        "verify", "-purpose", "sslclient",
        "-CAfile", write(tmp_path, "root.pem", root.pem),
        "-untrusted", write(tmp_path, "inter.pem", inter.pem),
        write(tmp_path, "leaf.pem", leaf.pem),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


EXPECTED_TEXT = {
    "sha1": "Signature Algorithm: sha1WithRSAEncryption",
    "md5": "Signature Algorithm: md5WithRSAEncryption",
    "sha224": "Signature Algorithm: sha224WithRSAEncryption",
    "dsa": "Public-Key: (2048 bit)",
    "v1": "Version: 1 (0x0)",
    "rsa1024": "Public-Key: (1024 bit)",
    "ed25519": "Public Key Algorithm: ED25519",
    "secp256k1": "ASN1 OID: secp256k1",
    "serial0": "Serial Number: 0 (0x0)",
    "negative-serial": "Serial Number: -5 (-0x5)",
}


@requires_openssl
@pytest.mark.parametrize("kind", OPENSSL_KINDS)
def test_openssl_ca_kinds(kind: str, tmp_path: Path) -> None:
    path = write(tmp_path, "ca.pem", openssl_ca(kind))  # type: ignore[arg-type]
    text = run_openssl("x509", "-in", path, "-noout", "-text").stdout
    assert EXPECTED_TEXT[kind] in text
    assert ("X509v3 extensions" in text) == (kind != "v1")
    if kind == "dsa":
        assert "dsa_with_SHA256" in text


@requires_openssl
def test_big_and_unknown_critical_cas(tmp_path: Path) -> None:
    big = big_ca()
    assert len(big.der) > 16 * 1024
    assert run_openssl("x509", "-in", write(tmp_path, "big.pem", big.pem), "-noout").returncode == 0

    odd = unknown_critical_ca()
    ext = odd.cert.extensions.get_extension_for_oid(PRIVATE_OID)
    assert ext.critical and isinstance(ext.value, x509.UnrecognizedExtension)
    path = write(tmp_path, "odd.pem", odd.pem)
    result = run_openssl("verify", "-CAfile", path, path)
    assert result.returncode != 0 and "unhandled critical extension" in result.stderr


@requires_openssl
def test_crls_and_bad_signature(tmp_path: Path) -> None:
    root = make_ca()
    crl = make_crl(root, [3, 5], crl_number=7)
    assert crl.is_signature_valid(root.key.public_key())
    assert {r.serial_number for r in crl} == {3, 5}
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    bad = make_crl(root, [3], signing_key=key("rsa2048", slot="someone else"))
    assert bad.issuer == root.cert.subject
    assert not bad.is_signature_valid(root.key.public_key())

    ca = write(tmp_path, "ca.pem", root.pem)
    good = run_openssl("crl", "-in", write(tmp_path, "good.pem", pem(crl)), "-CAfile", ca, "-noout")
    assert good.returncode == 0 and "verify OK" in good.stderr
    worse = run_openssl("crl", "-in", write(tmp_path, "bad.pem", pem(bad)), "-CAfile", ca, "-noout")
    assert "verify failure" in worse.stderr  # openssl crl still exits 0 here


@requires_openssl
def test_patched_crls_keep_valid_signatures(tmp_path: Path) -> None:
    ec_root = make_ca("EC Root", key="p256")
    ca = write(tmp_path, "ca.pem", ec_root.pem)
    negative = write(tmp_path, "neg.pem", crl_with_negative_serial(ec_root, [-5, 0, 9]))
    result = run_openssl("crl", "-in", negative, "-CAfile", ca, "-noout", "-text")
    assert "verify OK" in result.stderr, result.stderr
    for serial in ("Serial Number: -05", "Serial Number: 00", "Serial Number: 09"):
        assert serial in result.stdout

    no_next = write(tmp_path, "nonext.pem", crl_without_next_update(ec_root))
    result = run_openssl("crl", "-in", no_next, "-CAfile", ca, "-noout", "-text")
    assert "verify OK" in result.stderr and "Next Update: NONE" in result.stdout


@requires_openssl
def test_reserial_is_signed_by_the_issuer(tmp_path: Path) -> None:
    root = make_ca()
    inter = reserial(make_ca("Serial Zero Intermediate", issuer=root), 0, issuer=root)
    path = write(tmp_path, "inter.pem", inter)
    assert "Serial Number: 0 (0x0)" in run_openssl("x509", "-in", path, "-noout", "-text").stdout
    result = run_openssl("verify", "-CAfile", write(tmp_path, "root.pem", root.pem), path)
    assert result.returncode == 0, result.stderr


def test_bundle_layout() -> None:
    root = make_ca()
    inter = make_ca("Test Sub-CA", issuer=root)
    data = bundle(root, inter.pem + b"\n\n", comments=True)
    lines = data.decode().splitlines()
    assert "" not in lines
    comments = [line for line in lines if line.startswith("#")]
    assert comments == ["# Test Root CA", "# Test Sub CA"]
    assert x509.load_pem_x509_certificates(data) == [root.cert, inter.cert]
    assert bundle(root, inter) == root.pem + inter.pem
