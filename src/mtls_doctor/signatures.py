"""Signature checks the way AWS-LC makes them: any algorithm it verifies, SHA-1 included.

``cryptography``'s ``verify_directly_issued_by`` refuses SHA-1; the load balancer's library does
not (inferred), so signatures are checked here with the issuer's public key directly.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

# Curves AWS-LC implements; a key on another curve (P-192, ...) does not decode there (inferred).
AWS_LC_CURVES = frozenset({"secp224r1", "secp256r1", "secp384r1", "secp521r1", "secp256k1"})


def _verify(key: Any, signature: bytes, data: bytes, params: Any, digest: Any) -> bool:
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in AWS_LC_CURVES:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, params or padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):  # params are None for ECDSA-SHA1
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, data, digest)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except Exception:  # InvalidSignature, mismatched key types, bad parameters
        return False
    return True


def certificate_signed_by(cert: x509.Certificate, key: CertificatePublicKeyTypes | None) -> bool:
    """Whether the issuer's public ``key`` made ``cert``'s signature (names are not compared)."""
    if key is None:
        return False
    try:
        params, digest = cert.signature_algorithm_parameters, cert.signature_hash_algorithm
    except Exception:  # an undecodable key or unknown algorithm verifies nothing
        return False
    return _verify(key, cert.signature, cert.tbs_certificate_bytes, params, digest)


def crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key made the CRL's signature."""
    try:
        key = issuer.public_key()
        params, digest = crl.signature_algorithm_parameters, crl.signature_hash_algorithm
    except Exception:  # an undecodable key or unknown algorithm verifies nothing
        return False
    return _verify(key, crl.signature, crl.tbs_certlist_bytes, params, digest)
