"""The verify-mode model: every tls_verify_status code, and the paths that succeed."""

from __future__ import annotations

from functools import cache

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from factory import DAY, NOW, Issued, big_ca, bundle, make_ca, make_crl, make_leaf, pem
from mtls_doctor import load_trust_store
from mtls_doctor.truststore import TrustStore
from mtls_doctor.verify import Code, Verdict, Verifier, verify_chain

CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH


@cache
def pki() -> dict[str, Issued]:
    root = make_ca("Verify Root", key="p256")
    inter = make_ca("Verify Issuing CA", issuer=root, key="p256")
    return {"root": root, "inter": inter,
            "leaf": make_leaf("client-1", inter, key="p256"),
            "other": make_ca("Unrelated Root", key="p256")}


def store(*certs: Issued, crls: tuple[bytes, ...] = ()) -> TrustStore:
    return load_trust_store(bundle(*certs), crls)


def verdict(chain: list[Issued] | list[bytes], trust: TrustStore, **options: object) -> Verdict:
    ders = [c if isinstance(c, bytes) else c.der for c in chain]
    return verify_chain(ders, trust, **options)  # type: ignore[arg-type]


def status(chain: list[Issued] | list[bytes], trust: TrustStore, **options: object) -> str:
    return verdict(chain, trust, **options).tls_verify_status


# -- successes ---------------------------------------------------------------------------


def test_success_via_the_root() -> None:
    p = pki()
    result = verdict([p["leaf"], p["inter"]], store(p["root"]))
    assert result.tls_verify_status == "Success"
    assert [c.source for c in result.chain] == ["client", "client", "trust store"]
    assert result.anchor == 1 and result.problems == ()


def test_success_via_an_intermediate_anchor() -> None:
    p = pki()
    result = verdict([p["leaf"], p["inter"]], store(p["other"], p["inter"]))
    assert result.tls_verify_status == "Success" and result.anchor == 2
    assert len(result.chain) == 2  # the bundle copy of the intermediate ends the path


def test_success_when_the_client_omits_an_intermediate_the_bundle_holds() -> None:
    p = pki()
    assert status([p["leaf"]], store(p["root"], p["inter"])) == "Success"


def test_success_through_a_cross_signed_intermediate() -> None:
    old_root = make_ca("Cross Old Root", key="p256")
    new_root = make_ca("Cross New Root", key="p256")
    name = "Cross Issuing CA"
    under_new = make_ca(name, issuer=new_root, key="p384")
    under_old = make_ca(name, issuer=old_root, key="p384")  # same subject and key
    leaf = make_leaf("cross client", under_new, key="p256")
    trust = store(old_root)
    assert status([leaf, under_new], trust) == "Failed:ClientCertUntrusted"
    assert status([leaf, under_new, under_old], trust) == "Success"


def test_a_leaf_in_the_bundle_is_its_own_path_without_intent_check() -> None:
    p = pki()
    server = make_leaf("bundle server", p["inter"], key="p256",
                       eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    assert status([server], store(server)) == "Success"


def test_ignore_client_certificate_expiry() -> None:
    p = pki()
    old = make_leaf("expired client", p["inter"], key="p256", not_before=NOW - 9 * DAY,
                    not_after=NOW - DAY)
    trust = store(p["root"])
    assert status([old, p["inter"]], trust) == "Failed:ClientCertExpired"
    assert status([old, p["inter"]], trust, ignore_expiry=True) == "Success"


def test_at_moves_the_clock() -> None:
    p = pki()
    trust = store(p["root"])
    assert status([p["leaf"], p["inter"]], trust, at=NOW + 400 * DAY) == \
        "Failed:ClientCertExpired"
    assert status([p["leaf"], p["inter"]], trust, at=NOW - 2 * DAY) == \
        "Failed:ClientCertNotYetValid"


# -- every code ---------------------------------------------------------------------------


def test_max_chain_depth_exceeded() -> None:
    p = pki()
    chain = [p["leaf"], p["inter"], p["root"], p["other"], p["other"]]
    result = verdict(chain, store(p["root"]))
    assert result.code is Code.MAX_CHAIN_DEPTH_EXCEEDED
    assert status(chain[:4], store(p["root"])) == "Success"


def test_max_size_exceeded_comes_first() -> None:
    p = pki()
    bigs = [big_ca(f"Big {i}", min_der_size=22_000) for i in range(3)]
    result = verdict([p["leaf"], *bigs], store(p["root"]))
    assert result.code is Code.MAX_SIZE_EXCEEDED
    assert Code.UNTRUSTED in {x.code for x in result.problems}


def test_invalid_certificate_and_trailing_garbage() -> None:
    p = pki()
    assert status([b"\x30\x03\x02\x01\x01"], store(p["root"])) == "Failed:ClientCertInvalid"
    assert status([p["leaf"].der[:-10], p["inter"]], store(p["root"])) == \
        "Failed:ClientCertInvalid"
    assert status([p["leaf"].der + b"\x00\x00"], store(p["root"])) == "Failed:ClientCertInvalid"


def test_untrusted_when_no_issuer_is_known() -> None:
    p = pki()
    result = verdict([p["leaf"]], store(p["other"]))
    assert result.code is Code.UNTRUSTED and result.anchor is None
    assert "neither in the trust store nor sent" in result.reason


def test_untrusted_self_signed_client() -> None:
    p = pki()
    assert "self-signed" in verdict([p["other"]], store(p["root"])).reason


@pytest.mark.parametrize("options", [{"ca": False}, {"ca": None},
                                     {"key_usage": ["crl_sign"]}])
def test_untrusted_issuer_that_is_not_a_usable_ca(options: dict[str, object]) -> None:
    p = pki()
    bad = make_ca(f"Bad CA {sorted(options.items())}", issuer=p["root"], key="p256",
                  **options)  # type: ignore[arg-type]
    leaf = make_leaf("under bad", bad, key="p256")
    assert status([leaf, bad], store(p["root"])) == "Failed:ClientCertUntrusted"


def test_untrusted_when_path_length_is_exceeded() -> None:
    root = make_ca("PathLen Root", key="p256", path_length=0)
    inter = make_ca("PathLen Inter", issuer=root, key="p256")
    sub = make_ca("PathLen Sub", issuer=inter, key="p256")
    leaf = make_leaf("pathlen client", sub, key="p256")
    result = verdict([leaf, sub, inter], store(root))
    assert result.code is Code.UNTRUSTED and "pathLen" in result.reason
    assert status([make_leaf("direct", inter, key="p256"), inter], store(root)) == \
        "Failed:ClientCertUntrusted"  # pathLen 0: no intermediate CA may follow the root
    assert status([leaf, sub], store(root, inter)) == "Success"  # anchored below the limit


def test_untrusted_bad_signature() -> None:
    p = pki()
    impostor = make_ca("Verify Issuing CA", issuer=p["root"], key="p384")
    forged = make_ca("forged", issuer=impostor, key="p256", ca=False, aki=False,
                     key_usage=("digital_signature",))  # the real CA's name, another key
    result = verdict([forged, p["inter"]], store(p["root"]))
    assert result.code is Code.UNTRUSTED and "signature" in result.reason


def test_untrusted_unknown_critical_extension() -> None:
    p = pki()
    ext = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.32473.9"), b"\x05\x00")
    ca = make_ca("Critical Ext CA", issuer=p["root"], key="p256", extra_extensions=[(ext, True)])
    leaf = make_leaf("under critical", ca, key="p256")
    assert status([leaf, ca], store(p["root"])) == "Failed:ClientCertUntrusted"


def test_untrusted_name_constraints() -> None:
    permitted = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("allowed.example")], excluded_subtrees=None)
    root = make_ca("NC Root", key="p256", extra_extensions=[(permitted, True)])
    inter = make_ca("NC Inter", issuer=root, key="p256")

    def leaf_for(dns: str) -> Issued:
        return _leaf_with(inter, x509.SubjectAlternativeName([x509.DNSName(dns)]))

    assert status([leaf_for("a.allowed.example"), inter], store(root)) == "Success"
    result = verdict([leaf_for("evil.example"), inter], store(root))
    assert result.code is Code.UNTRUSTED and "name constraints" in result.reason


def _leaf_with(issuer: Issued, san: x509.SubjectAlternativeName) -> Issued:
    from cryptography.hazmat.primitives import hashes

    from factory import key

    private = key("p256", slot=str(san))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nc leaf")]))
            .issuer_name(issuer.cert.subject).public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY)
            .add_extension(san, critical=False)
            .sign(issuer.key, hashes.SHA256()))  # type: ignore[arg-type]
    return Issued(cert, private)


def test_crl_hit_on_the_leaf_and_on_an_intermediate() -> None:
    p = pki()
    leaf_crl = pem(make_crl(p["inter"], [p["leaf"].cert.serial_number]))
    result = verdict([p["leaf"], p["inter"]], store(p["root"], crls=(leaf_crl,)))
    assert result.code is Code.CRL_HIT and result.problems[0].certificate == 1
    inter_crl = pem(make_crl(p["root"], [p["inter"].cert.serial_number]))
    result = verdict([p["leaf"], p["inter"]], store(p["root"], crls=(inter_crl,)))
    assert result.code is Code.CRL_HIT and result.problems[0].certificate == 2


def test_stale_crl_still_revokes() -> None:
    p = pki()
    stale = pem(make_crl(p["inter"], [p["leaf"].cert.serial_number],
                         last_update=NOW - 30 * DAY, next_update=NOW - 20 * DAY))
    assert status([p["leaf"], p["inter"]], store(p["root"], crls=(stale,))) == \
        "Failed:ClientCertCrlHit"


def test_crl_of_another_issuer_does_not_apply() -> None:
    p = pki()
    unrelated = pem(make_crl(p["other"], [p["leaf"].cert.serial_number]))
    assert status([p["leaf"], p["inter"]], store(p["root"], crls=(unrelated,))) == "Success"


@pytest.mark.parametrize("kind", ["bad-signature", "delta", "no-issuer-in-path"])
def test_crl_processing_errors(kind: str) -> None:
    p = pki()
    if kind == "bad-signature":
        crl, trust_certs = make_crl(p["inter"], [5], signing_key=p["other"].key), (p["root"],)
    elif kind == "delta":
        crl = make_crl(p["inter"], [5], extensions=[(x509.DeltaCRLIndicator(1), True)])
        trust_certs = (p["root"],)
    else:  # the anchor is the intermediate; the CRL is its issuer's, which is not in the path
        crl, trust_certs = make_crl(p["root"], [5]), (p["inter"],)
    result = verdict([p["leaf"], p["inter"]], store(*trust_certs, crls=(pem(crl),)))
    assert result.code is Code.CRL_PROCESSING_ERROR


def test_not_yet_valid_intermediate() -> None:
    p = pki()
    future = make_ca("Future CA", issuer=p["root"], key="p256", not_before=NOW + DAY)
    leaf = make_leaf("under future", future, key="p256")
    result = verdict([leaf, future], store(p["root"]))
    assert result.code is Code.NOT_YET_VALID and result.problems[0].certificate == 2


@pytest.mark.parametrize(("eku", "key_usage"), [
    ([ExtendedKeyUsageOID.SERVER_AUTH], ("digital_signature",)),
    ([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE], ("digital_signature",)),
    ([CLIENT], ("key_encipherment",)),
])
def test_purpose_invalid_leaf(eku: list[x509.ObjectIdentifier], key_usage: tuple[str, ...]) -> None:
    p = pki()
    leaf = make_leaf(f"purpose {eku[0].dotted_string} {key_usage[0]}", p["inter"], key="p256",
                     eku=eku,
                     key_usage=key_usage)
    assert status([leaf, p["inter"]], store(p["root"])) == "Failed:ClientCertPurposeInvalid"


def test_purpose_checks_intermediates_but_never_the_anchor() -> None:
    p = pki()
    server_ca = make_ca("Server Only CA", issuer=p["root"], key="p256",
                        eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    leaf = make_leaf("under server ca", server_ca, key="p256")
    assert status([leaf, server_ca], store(p["root"])) == "Failed:ClientCertPurposeInvalid"
    assert status([leaf, server_ca], store(server_ca)) == "Success"


def test_purpose_comes_after_time() -> None:
    p = pki()
    leaf = make_leaf("late server", p["inter"], key="p256", not_after=NOW - DAY,
                     not_before=NOW - 9 * DAY, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    result = verdict([leaf, p["inter"]], store(p["root"]))
    assert [x.code for x in result.problems] == [Code.EXPIRED, Code.PURPOSE_INVALID]


def test_type_unsupported_leaf_key() -> None:
    p = pki()
    leaf = make_leaf("dsa client", p["inter"], key="dsa2048")
    result = verdict([leaf, p["inter"]], store(p["root"]))
    assert result.code is Code.TYPE_UNSUPPORTED
    rsa = make_leaf("rsa client", p["inter"], key="rsa2048")
    assert status([rsa, p["inter"]], store(p["root"])) == "Success"


# -- hostile chains -------------------------------------------------------------------------


def test_loops_of_cross_signed_cas_end() -> None:
    a_key, b_key = "p256", "p384"
    a0 = make_ca("Loop A", key=a_key)
    b = make_ca("Loop B", issuer=a0, key=b_key)
    a = make_ca("Loop A", issuer=b, key=a_key)
    leaf = make_leaf("loop client", a, key="p256")
    result = verdict([leaf, a, b, a0], store(pki()["other"]))
    assert result.code is Code.UNTRUSTED


def test_ten_thousand_certificates_and_a_huge_blob() -> None:
    p = pki()
    many = verdict([p["leaf"].der] * 10_000, store(p["root"]))
    assert many.code is Code.MAX_SIZE_EXCEEDED
    assert Code.MAX_CHAIN_DEPTH_EXCEEDED in {x.code for x in many.problems}
    blob = verdict([b"\x30\x84" + b"\x00" * 10_000_000], store(p["root"]))
    assert blob.code is Code.MAX_SIZE_EXCEEDED
    assert {x.code for x in blob.problems} >= {Code.INVALID}


def test_verifier_reuses_signature_checks() -> None:
    p = pki()
    verifier = Verifier(store(p["root"]))
    for _ in range(3):
        assert verifier.verify([p["leaf"].der, p["inter"].der]).ok
    assert len(verifier._signatures) == 2


def test_sha1_signed_chains_verify_with_a_note(openssl) -> None:  # type: ignore[no-untyped-def]
    """cryptography cannot sign with SHA-1; the openssl command line signs the leaf."""
    import subprocess
    import tempfile
    from pathlib import Path

    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from factory import key

    p = pki()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "ca.pem").write_bytes(p["inter"].pem)
        (folder / "ca.key").write_bytes(p["inter"].key.private_bytes(  # type: ignore[union-attr]
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        (folder / "leaf.key").write_bytes(key("p256", slot="sha1 leaf").private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        subprocess.run([openssl.program, "req", "-new", "-key", "leaf.key", "-subj",
                        "/CN=sha1 client", "-out", "leaf.csr"], cwd=folder, check=True,
                       capture_output=True)
        subprocess.run([openssl.program, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem",
                        "-CAkey", "ca.key", "-sha1", "-days", "30", "-set_serial", "77",
                        "-out", "leaf.pem"], cwd=folder, check=True, capture_output=True)
        leaf = x509.load_pem_x509_certificate((folder / "leaf.pem").read_bytes())
    result = verdict([leaf.public_bytes(Encoding.DER), p["inter"].der], store(p["root"]))
    assert result.tls_verify_status == "Success"
    assert any("ecdsa-with-SHA1" in note for note in result.notes)


def test_not_after_is_already_expired_at_that_second() -> None:
    p = pki()
    trust = store(p["root"])
    end = p["leaf"].cert.not_valid_after_utc
    assert status([p["leaf"], p["inter"]], trust, at=end) == "Failed:ClientCertExpired"
    assert status([p["leaf"], p["inter"]], trust, at=end - DAY / 86400) == "Success"


def test_keys_on_curves_the_tls_library_lacks_do_not_verify() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    root = make_ca("P192 Root", key=ec.generate_private_key(ec.SECP192R1()))
    leaf = make_leaf("under p192", root, key="p256")
    assert status([leaf], store(root)) == "Failed:ClientCertUntrusted"


@pytest.mark.parametrize(("dns", "excluded", "ok"), [
    ("*.example.com", "bar.example.com", False),
    ("*.other.com", "bar.example.com", True),
])
def test_wildcard_names_against_excluded_subtrees(dns: str, excluded: str, ok: bool) -> None:
    constraint = x509.NameConstraints(permitted_subtrees=None,
                                      excluded_subtrees=[x509.DNSName(excluded)])
    root = make_ca(f"NC Ex Root {excluded}", key="p256", extra_extensions=[(constraint, True)])
    leaf = _leaf_with(root, x509.SubjectAlternativeName([x509.DNSName(dns)]))
    assert (status([leaf], store(root)) == "Success") is ok


def test_an_empty_chain_is_an_input_error() -> None:
    from mtls_doctor.errors import InputError

    with pytest.raises(InputError, match="no certificate"):
        verify_chain([], store(pki()["root"]))


def test_pkcs7_sets_are_put_in_chain_order() -> None:
    from mtls_doctor.verify.chain import leaf_first

    p = pki()
    assert leaf_first([p["root"].der, p["inter"].der, p["leaf"].der]) == (
        p["leaf"].der, p["inter"].der, p["root"].der)
    assert leaf_first([b"junk", p["inter"].der, p["leaf"].der]) == (
        p["leaf"].der, p["inter"].der, b"junk")
