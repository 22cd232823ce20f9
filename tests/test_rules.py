"""Every rule of the catalogue: one trust store that triggers it and one that does not."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import require_program
from factory import (
    DAY,
    NOW,
    Issued,
    big_ca,
    bundle,
    crl_with_negative_serial,
    der,
    key,
    make_ca,
    make_crl,
    make_leaf,
    openssl_ca,
    pem,
    reserial,
    unknown_critical_ca,
)
from mtls_doctor import check_trust_store, load_trust_store
from mtls_doctor.check import Report
from mtls_doctor.rules import RULES


@cache
def root() -> Issued:
    return make_ca("Rules Root CA")


@cache
def inter() -> Issued:
    return make_ca("Rules Issuing CA", issuer=root())


@cache
def other_root() -> Issued:
    return make_ca("Rules Other Root CA", key="p256")


def good() -> bytes:
    return bundle(root(), inter(), comments=True)


def report(data: bytes, crls: tuple[bytes, ...] = (), **options: Any) -> Report:
    return check_trust_store(load_trust_store(data, crls), **options)


def with_openssl(kind: str) -> bytes:
    require_program("openssl")
    return openssl_ca(kind)  # type: ignore[arg-type]


def ca_names(count: int, *, ous: int = 0) -> bytes:
    """``count`` distinct P-256 CAs; ``ous`` long OU attributes inflate each subject."""
    certs = []
    for i in range(count):
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, f"Quota CA {i}")]
        attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{j:02d}" + "u" * 60)
                       for j in range(ous)]
        certs.append(make_ca(x509.Name(attributes), key=key("p256", slot=i)))
    return bundle(*certs)


def crl(**options: Any) -> bytes:
    return pem(make_crl(root(), [5, 6], **options))


Case = Callable[[], Report]

# rule id -> (a trust store that triggers it, a close one that does not)
CASES: dict[str, tuple[Case, Case]] = {
    "bundle.empty": (lambda: report(b"# only a comment\n"), lambda: report(good())),
    "bundle.not-pem": (lambda: report(root().der), lambda: report(root().pem)),
    "bundle.blank-line": (lambda: report(root().pem + b"\n" + inter().pem),
                          lambda: report(root().pem + inter().pem)),
    "bundle.stray-text": (lambda: report(b"Root CA\n" + good()),
                          lambda: report(b"# Root CA\n" + good())),
    "bundle.comment-dash": (lambda: report(b"# root-ca\n" + good()),
                            lambda: report(b"# root ca\n" + good())),
    "bundle.bad-base64": (lambda: report(good().replace(b"MII", b"M!I", 1)),
                          lambda: report(good())),
    "bundle.not-a-certificate": (lambda: report(good() + root().key_pem),
                                 lambda: report(good())),
    "bundle.too-many-certificates": (lambda: report(ca_names(26)),
                                     lambda: report(ca_names(25))),
    "bundle.subject-size": (lambda: report(ca_names(22, ous=7)),
                            lambda: report(ca_names(18, ous=7))),
    "bundle.duplicate": (lambda: report(bundle(root(), inter(), root())),
                         lambda: report(bundle(root(), inter()))),
    "cert.unparseable": (lambda: report(bundle(root()) + pem_block(b"\x30\x03\x02\x01\x01")),
                         lambda: report(bundle(root()))),
    "cert.version": (lambda: report(with_openssl("v1")), lambda: report(good())),
    "cert.key-type": (lambda: report(openssl_ca("dsa")), lambda: report(good())),
    "cert.rsa-size": (lambda: report(openssl_ca("rsa1024")),
                      lambda: report(bundle(make_ca("RSA 3072 CA", key="rsa3072")))),
    "cert.ec-curve": (lambda: report(openssl_ca("secp256k1")),
                      lambda: report(bundle(make_ca("P384 CA", key="p384")))),
    "cert.signature-algorithm": (lambda: report(with_openssl("sha1")),
                                 lambda: report(bundle(make_ca("SHA512 CA",
                                                               hash=hashes.SHA512())))),
    "cert.not-ca": (lambda: report(bundle(root(), make_leaf("client", root()))),
                    lambda: report(good())),
    "cert.no-cert-sign": (lambda: report(bundle(make_ca("CRL only CA", key_usage=["crl_sign"]))),
                          lambda: report(bundle(make_ca("No KU CA", key_usage=None)))),
    "cert.too-large": (lambda: report(bundle(big_ca())), lambda: report(good())),
    "cert.expired": (lambda: report(bundle(make_ca("Old CA", not_before=NOW - 9 * DAY,
                                                   not_after=NOW - DAY))),
                     lambda: report(good())),
    "cert.not-yet-valid": (lambda: report(bundle(make_ca("Future CA", not_before=NOW + DAY))),
                           lambda: report(good())),
    "cert.expires-soon": (lambda: report(bundle(make_ca("Soon CA", not_after=NOW + 10 * DAY))),
                          lambda: report(bundle(make_ca("Soon CA", not_after=NOW + 10 * DAY)),
                                         warn_days=5)),
    "cert.critical-extension": (lambda: report(bundle(unknown_critical_ca())),
                                lambda: report(good())),
    "cert.serial": (lambda: report(reserial(root(), 0)), lambda: report(good())),
    "cert.eku-no-client-auth": (
        lambda: report(bundle(make_ca("Server CA", eku=[ExtendedKeyUsageOID.SERVER_AUTH]))),
        lambda: report(bundle(make_ca("Client CA", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])))),
    "cert.path-length": (
        lambda: report(bundle(make_ca("PL0 Root", path_length=0),
                              make_ca("PL Sub", issuer=make_ca("PL0 Root", path_length=0)))),
        lambda: report(bundle(make_ca("PL1 Root", path_length=1),
                              make_ca("PL Sub1", issuer=make_ca("PL1 Root", path_length=1))))),
    "cert.partial-chain": (lambda: report(bundle(inter())), lambda: report(good())),
    "crl.unparseable": (lambda: report(good(), (pem_block(b"\x30\x00", "X509 CRL"),)),
                        lambda: report(good(), (crl(),))),
    "crl.not-pem": (lambda: report(good(), (der(make_crl(root(), [5])),)),
                    lambda: report(good(), (crl(),))),
    "crl.too-large": (lambda: report(good(), (crl() + b"#" * 50_000_001,)),
                      lambda: report(good(), (crl() + b"#" * 1000,))),
    "crl.too-many": (lambda: report(good(), tuple(crl(crl_number=n) for n in range(31))),
                     lambda: report(good(), tuple(crl(crl_number=n) for n in range(30)))),
    "crl.too-many-entries": (
        lambda: report(good(), (crl(),), quotas={"revocation-entries": 1}),
        lambda: report(good(), (crl(),), quotas={"revocation-entries": 2})),
    "crl.issuer-unknown": (lambda: report(good(), (pem(make_crl(other_root(), [1])),)),
                           lambda: report(good(), (crl(),))),
    "crl.bad-signature": (lambda: report(good(), (crl(signing_key=other_root().key),)),
                          lambda: report(good(), (crl(),))),
    "crl.signature-algorithm": (lambda: report(good(), (crl(hash=hashes.SHA224()),)),
                                lambda: report(good(), (crl(hash=hashes.SHA384()),))),
    "crl.stale": (lambda: report(good(), (crl(last_update=NOW - 9 * DAY,
                                              next_update=NOW - DAY),)),
                  lambda: report(good(), (crl(),))),
    "crl.negative-serial": (lambda: report(good(), (crl_with_negative_serial(root()),)),
                            lambda: report(good(), (crl(),))),
    "crl.critical-extension": (
        lambda: report(good(), (crl(extensions=[(x509.DeltaCRLIndicator(1), True)]),)),
        lambda: report(good(), (crl(extensions=[(x509.IssuingDistributionPoint(
            [x509.UniformResourceIdentifier("http://crl.example/root.crl")], None, False, False,
            None, False, False), True)]),))),
    "crl.duplicate": (lambda: report(good(), (crl(), crl())),
                      lambda: report(good(), (crl(crl_number=1), crl(crl_number=2)))),
}


def pem_block(der_bytes: bytes, label: str = "CERTIFICATE") -> bytes:
    from mtls_doctor.pem import pem_encode

    return pem_encode(der_bytes, label)


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_triggers(rule: str) -> None:
    found = [f for f in CASES[rule][0]().findings if f.rule == rule]
    assert found, f"{rule} did not fire"
    registered = RULES[rule]
    assert all(f.severity is registered.severity and f.basis is registered.basis
               and f.fix == registered.fix and f.message for f in found)


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_stays_quiet_on_the_near_miss(rule: str) -> None:
    assert rule not in {f.rule for f in CASES[rule][1]().findings}


def test_good_bundle_is_clean() -> None:
    result = report(good(), (crl(),))
    assert result.accepted and result.findings == ()


def test_certificate_findings_carry_index_and_block_line() -> None:
    data = b"# fine\n" + root().pem + b"# leaf\n" + make_leaf("client", root()).pem
    result = report(data)
    leaf_block_line = data[:data.index(b"# leaf")].count(b"\n") + 2
    (finding,) = [f for f in result.findings if f.rule == "cert.not-ca"]
    assert (finding.certificate, finding.line) == (2, leaf_block_line)


def test_crl_findings_name_their_crl() -> None:
    result = report(good(), (crl(), crl(signing_key=other_root().key)))
    (finding,) = [f for f in result.findings if f.rule == "crl.bad-signature"]
    assert finding.crl == 2 and finding.certificate is None


def test_accepted_ignores_warnings_but_not_errors() -> None:
    assert CASES["cert.expired"][0]().accepted
    assert not CASES["cert.rsa-size"][0]().accepted


@pytest.mark.parametrize("kind", ["md5", "sha224"])
def test_other_weak_signatures(kind: str) -> None:
    data = with_openssl(kind) if kind == "md5" else openssl_ca(kind)  # type: ignore[arg-type]
    assert "cert.signature-algorithm" in {f.rule for f in report(data).findings}


def test_ed25519_is_an_unsupported_key_type() -> None:
    result = report(openssl_ca("ed25519"))
    assert {"cert.key-type", "cert.signature-algorithm"} <= {f.rule for f in result.findings}


def test_expiry_is_judged_at_the_given_time() -> None:
    later = NOW + 4000 * DAY
    assert "cert.expired" in {f.rule for f in report(good(), at=later).findings}
    assert "cert.expired" not in {f.rule for f in report(good(), at=NOW).findings}


def test_profiles_and_quotas() -> None:
    assert report(good(), profile="nlb").profile.name == "nlb"
    with pytest.raises(ValueError, match="fixed by AWS"):
        report(good(), quotas={"ca-certificate-size": 1})
    with pytest.raises(ValueError, match="unknown rule"):
        report(good(), ignore=["cert.nope"])
    assert report(ca_names(26), quotas={"ca-certificates": 26}).accepted


def test_rsassa_pss_signatures_are_accepted_and_verified() -> None:
    from cryptography.hazmat.primitives.asymmetric import padding

    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    sub = (x509.CertificateBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "PSS Sub CA")]))
        .issuer_name(root().cert.subject).public_key(key("p256", slot="pss").public_key())
        .serial_number(7).not_valid_before(NOW - DAY).not_valid_after(NOW + DAY * 30 * 12)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root().key, hashes.SHA256(), rsa_padding=pss))  # type: ignore[arg-type]
    result = report(bundle(root(), sub))
    assert result.store.certificates[1].facts.signature_algorithm == "rsassaPss"
    assert "cert.signature-algorithm" not in {f.rule for f in result.findings}
    assert result.store.issuers[2] == 1


@pytest.mark.parametrize("kind", ["sha1", "md5", "sha224", "dsa", "rsa1024", "ed25519",
                                  "secp256k1", "v1", "serial0", "negative-serial"])
def test_facts_agree_with_openssl(kind: str, openssl) -> None:  # type: ignore[no-untyped-def]
    """The openssl command line as an independent oracle for the facts the rules judge."""
    import re

    data = openssl_ca(kind)  # type: ignore[arg-type]
    text = openssl("x509", "-noout", "-text", input=data)
    (cert,) = report(data).store.certificates
    facts = cert.facts
    assert facts is not None
    assert f"Signature Algorithm: {facts.signature_algorithm}" in text
    assert f"Version: {facts.version} " in text
    bits = re.search(r"Public-Key: \((\d+) bit\)", text)
    if facts.key.type in ("RSA", "DSA", "EC"):
        assert bits and int(bits.group(1)) == facts.key.bits
    serial = openssl("x509", "-noout", "-serial", input=data).strip().split("=")[1]
    assert int(serial, 16) == facts.serial_number


def test_pkcs7_bundle_is_not_pem_and_fix_extracts_its_certificates() -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    from mtls_doctor import fix_bundle
    from mtls_doctor.pem import BundleFormat

    p7b = pkcs7.serialize_certificates([root().cert, inter().cert], Encoding.DER)
    result = report(p7b)
    assert result.store.scan.format is BundleFormat.PKCS7
    assert [f.rule for f in result.findings] == ["bundle.not-pem"]
    fixed = fix_bundle(result)
    assert report(fixed.data).accepted and len(fixed.kept) == 2


@pytest.mark.parametrize("password", [None, b"secret"])
def test_pkcs12_is_named_and_readable_only_without_a_password(password: bytes | None) -> None:
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        NoEncryption,
        pkcs12,
    )

    from mtls_doctor.pem import BundleFormat

    leaf = make_leaf("p12 client", root())
    encryption = BestAvailableEncryption(password) if password else NoEncryption()
    p12 = pkcs12.serialize_key_and_certificates(b"client", leaf.key, leaf.cert,  # type: ignore[arg-type]
                                                [root().cert], encryption)
    result = report(p12)
    assert result.store.scan.format is BundleFormat.PKCS12
    (finding,) = [f for f in result.findings if f.rule == "bundle.not-pem"]
    assert "PKCS#12" in finding.message and "private key" in finding.message
    assert len(result.store.certificates) == (2 if password is None else 0)


def test_negative_serial_certificate_is_reported_not_refused() -> None:
    require_program("openssl")
    result = report(openssl_ca("negative-serial"))
    (finding,) = [f for f in result.findings if f.rule == "cert.serial"]
    assert "negative" in finding.message
    assert result.store.certificates[0].facts.serial == "-05"
