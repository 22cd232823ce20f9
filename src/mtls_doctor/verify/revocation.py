"""The trust store's CRLs indexed for lookups: by issuer name, with revoked serials in a set.

Modelled on AWS-LC with ``X509_V_FLAG_CRL_CHECK_ALL`` (inferred): a certificate is checked only
where an uploaded CRL names its issuer; stale CRLs still count; negative serials cannot be revoked
(documented); delta CRLs and other unhandled critical extensions make the CRL unusable.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from mtls_doctor.facts import CertificateFacts, CrlFacts
from mtls_doctor.profiles import UNDERSTOOD_CRITICAL_CRL_EXTENSIONS
from mtls_doctor.signatures import crl_signed_by
from mtls_doctor.truststore import TrustStore

_CERTIFICATE_ISSUER = "2.5.29.29"


@dataclass(frozen=True)
class IndexedCrl:
    """One usable-or-not CRL: its facts and file number."""

    index: int
    file: str
    facts: CrlFacts

    @property
    def unhandled_extensions(self) -> list[str]:
        found = [o for o in self.facts.critical_extensions
                 if o not in UNDERSTOOD_CRITICAL_CRL_EXTENSIONS]
        return found + [o for o in self.facts.critical_entry_extensions
                        if o != _CERTIFICATE_ISSUER]

    def in_scope(self, cert: CertificateFacts) -> bool:
        """Whether an issuingDistributionPoint lets this CRL cover ``cert``."""
        try:
            idp = self.facts.crl.extensions.get_extension_for_class(
                x509.IssuingDistributionPoint).value
        except x509.ExtensionNotFound:
            return True
        if idp.indirect_crl or idp.only_some_reasons or idp.only_contains_attribute_certs:
            return False
        if idp.only_contains_user_certs and cert.is_ca:
            return False
        return not (idp.only_contains_ca_certs and not cert.is_ca)


class CrlIndex:
    """CRLs by issuer DER name; the revoked-serial sets are built on first use."""

    def __init__(self, store: TrustStore) -> None:
        self._by_issuer: dict[bytes, list[IndexedCrl]] = {}
        self._signed: dict[tuple[int, str], bool] = {}
        for crl in store.crls:
            if crl.facts is not None:
                self._by_issuer.setdefault(crl.facts.issuer_der, []).append(
                    IndexedCrl(crl.index, crl.file, crl.facts))
        for crls in self._by_issuer.values():
            crls.sort(key=lambda c: c.facts.this_update, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._by_issuer)

    def for_issuer(self, issuer_der: bytes) -> list[IndexedCrl]:
        return self._by_issuer.get(issuer_der, [])

    def signed(self, crl: IndexedCrl, issuer: CertificateFacts, issuer_sha256: str) -> bool:
        """Whether the issuer's key signed the CRL, checked once per pair (a big CRL's
        signature covers megabytes)."""
        key = (crl.index, issuer_sha256)
        if key not in self._signed:
            self._signed[key] = crl_signed_by(crl.facts.crl, issuer.certificate)
        return self._signed[key]
