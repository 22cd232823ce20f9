"""What ``openssl x509 -text`` and ``openssl crl -text`` would show, as typed values.

:func:`certificate_facts` and :func:`crl_facts` raise :class:`Unparseable` with a one-line reason
when ``cryptography`` cannot read the input; warnings it emits (zero or negative serials) are kept.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from mtls_doctor.profiles import SIGNATURE_NAMES


class Unparseable(ValueError):
    """The bytes are not a certificate (or CRL) that can be read."""


@dataclass(frozen=True)
class KeyInfo:
    """Public key type (``RSA``, ``EC``, ``DSA``, ``Ed25519``, ...), size in bits, EC curve name."""

    type: str
    bits: int | None = None
    curve: str | None = None


@dataclass(frozen=True)
class CertificateFacts:
    """The facts about one certificate; ``certificate`` is the parsed object, for signatures.

    Names as text, the serial in hex and the key's details are computed when first asked for:
    verifying a batch of client chains needs few of them.
    """

    certificate: x509.Certificate
    subject_der: bytes
    issuer_der: bytes
    serial_number: int
    version: int
    not_before: datetime
    not_after: datetime
    signature_algorithm: str
    signature_hash: str | None
    is_ca: bool | None
    path_length: int | None
    key_usage: tuple[str, ...] | None
    extended_key_usage: tuple[str, ...] | None
    subject_key_id: str | None
    authority_key_id: str | None
    critical_extensions: tuple[str, ...]
    name_constraints: x509.NameConstraints | None
    parse_warnings: tuple[str, ...]

    @property
    def self_issued(self) -> bool:
        return self.subject_der == self.issuer_der

    @cached_property
    def subject(self) -> str:
        return name_of(self.certificate.subject)

    @cached_property
    def issuer(self) -> str:
        return name_of(self.certificate.issuer)

    @cached_property
    def serial(self) -> str:
        return serial_hex(self.serial_number)

    @cached_property
    def public_key(self) -> CertificatePublicKeyTypes | None:
        """The public key, or None when it cannot be loaded."""
        try:
            return self.certificate.public_key()
        except Exception:  # unsupported or malformed keys are facts, not crashes
            return None

    @cached_property
    def key(self) -> KeyInfo:
        return key_info(self.certificate, self.public_key)


@dataclass(frozen=True)
class CrlFacts:
    """The facts about one CRL; ``crl`` is the parsed object for signature checks."""

    crl: x509.CertificateRevocationList
    issuer: str
    issuer_der: bytes
    this_update: datetime
    next_update: datetime | None
    entries: int
    negative_serials: int
    revoked: frozenset[int]  # the serials the load balancer can revoke (not the negative ones)
    signature_algorithm: str
    signature_hash: str | None
    crl_number: int | None
    authority_key_id: str | None
    critical_extensions: tuple[str, ...]
    critical_entry_extensions: tuple[str, ...]


_KEY_USAGE_FLAGS = ("digital_signature", "content_commitment", "key_encipherment",
                    "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")
_KEY_USAGE_NAMES = {"digital_signature": "digitalSignature", "content_commitment": "nonRepudiation",
                    "key_encipherment": "keyEncipherment", "data_encipherment": "dataEncipherment",
                    "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign",
                    "crl_sign": "cRLSign", "encipher_only": "encipherOnly",
                    "decipher_only": "decipherOnly"}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING.dotted_string: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING.dotted_string: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string: "anyExtendedKeyUsage",
}
_KEY_TYPES_BY_OID = {"1.2.840.113549.1.1.1": "RSA", "1.2.840.113549.1.1.10": "RSA-PSS",
                     "1.2.840.10045.2.1": "EC", "1.2.840.10040.4.1": "DSA",
                     "1.3.101.112": "Ed25519", "1.3.101.113": "Ed448", "1.3.101.110": "X25519",
                     "1.3.101.111": "X448"}


# OpenSSL's short names for attributes cryptography would print as dotted OIDs.
_OPENSSL_ATTRIBUTE_NAMES = {
    NameOID.EMAIL_ADDRESS: "emailAddress", NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.SURNAME: "SN", NameOID.GIVEN_NAME: "GN", NameOID.TITLE: "title",
    NameOID.BUSINESS_CATEGORY: "businessCategory", NameOID.POSTAL_CODE: "postalCode",
    NameOID.JURISDICTION_COUNTRY_NAME: "jurisdictionC",
    NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME: "jurisdictionST",
    NameOID.JURISDICTION_LOCALITY_NAME: "jurisdictionL",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.DN_QUALIFIER: "dnQualifier", NameOID.PSEUDONYM: "pseudonym",
    NameOID.INITIALS: "initials", NameOID.GENERATION_QUALIFIER: "generationQualifier",
}


def name_of(name: x509.Name) -> str:
    """RFC 4514 string of a distinguished name with OpenSSL's attribute names, as the load
    balancer logs it (``emailAddress=``, not ``1.2.840.113549.1.9.1=``)."""
    return name.rfc4514_string(_OPENSSL_ATTRIBUTE_NAMES)


def serial_hex(number: int) -> str:
    """Uppercase hex with whole bytes (``02``, ``03A5B1``); negative serials keep a minus sign."""
    digits = f"{abs(number):X}"
    digits = digits.zfill(len(digits) + len(digits) % 2)
    return f"-{digits}" if number < 0 else digits


def key_info(certificate: x509.Certificate, key: CertificatePublicKeyTypes | None) -> KeyInfo:
    """The public key's type and size, from the key itself or, if it did not load, its OID."""
    if key is None:
        oid = certificate.public_key_algorithm_oid.dotted_string
        return KeyInfo(_KEY_TYPES_BY_OID.get(oid, oid))
    if isinstance(key, rsa.RSAPublicKey):
        rsa_type = _KEY_TYPES_BY_OID.get(certificate.public_key_algorithm_oid.dotted_string, "RSA")
        return KeyInfo(rsa_type, key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyInfo("EC", key.curve.key_size, key.curve.name)
    if isinstance(key, dsa.DSAPublicKey):
        return KeyInfo("DSA", key.key_size)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyInfo("Ed25519", 256)
    if isinstance(key, ed448.Ed448PublicKey):
        return KeyInfo("Ed448", 456)
    return KeyInfo(type(key).__name__)


def signature_name(oid: x509.ObjectIdentifier) -> str:
    """OpenSSL's long name for a signature algorithm OID (the dotted OID when unknown)."""
    return SIGNATURE_NAMES.get(oid.dotted_string, oid.dotted_string)


def _hash_name(obj: x509.Certificate | x509.CertificateRevocationList) -> str | None:
    try:
        algorithm = obj.signature_hash_algorithm
    except Exception:
        return None
    return algorithm.name if algorithm is not None else None


_T = TypeVar("_T", bound=x509.ExtensionType)


def _extension_value(extensions: x509.Extensions, kind: type[_T]) -> _T | None:
    try:
        return extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(usage: x509.KeyUsage) -> tuple[str, ...]:
    names = [_KEY_USAGE_NAMES[f] for f in _KEY_USAGE_FLAGS if getattr(usage, f)]
    if usage.key_agreement:
        names += [_KEY_USAGE_NAMES[f] for f in ("encipher_only", "decipher_only")
                  if getattr(usage, f)]
    return tuple(names)


def certificate_facts(der: bytes) -> CertificateFacts:
    """Parse one DER certificate into facts; :class:`Unparseable` says why it cannot be read."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cert = x509.load_der_x509_certificate(der)
            facts = _facts(cert)
        except Unparseable:
            raise
        except Exception as exc:
            raise Unparseable(_reason(exc)) from exc
    notes = tuple(str(w.message).split(". ")[0] for w in caught)
    return replace(facts, parse_warnings=notes) if notes else facts


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _facts(cert: x509.Certificate) -> CertificateFacts:
    version = {x509.Version.v1: 1, x509.Version.v3: 3}.get(cert.version, 2)
    values: dict[x509.ObjectIdentifier, Any] = {}
    critical = []
    for extension in cert.extensions:  # one pass: this runs for every client certificate
        values[extension.oid] = extension.value
        if extension.critical:
            critical.append(extension.oid.dotted_string)
    constraints: x509.BasicConstraints | None = values.get(ExtensionOID.BASIC_CONSTRAINTS)
    usage: x509.KeyUsage | None = values.get(ExtensionOID.KEY_USAGE)
    eku: x509.ExtendedKeyUsage | None = values.get(ExtensionOID.EXTENDED_KEY_USAGE)
    ski: x509.SubjectKeyIdentifier | None = values.get(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki: x509.AuthorityKeyIdentifier | None = values.get(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    return CertificateFacts(
        certificate=cert,
        subject_der=cert.subject.public_bytes(),
        issuer_der=cert.issuer.public_bytes(),
        serial_number=cert.serial_number,
        version=version,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        signature_algorithm=signature_name(cert.signature_algorithm_oid),
        signature_hash=_hash_name(cert),
        is_ca=constraints.ca if constraints is not None else None,
        path_length=constraints.path_length if constraints is not None else None,
        key_usage=_key_usage(usage) if usage is not None else None,
        extended_key_usage=(tuple(_EKU_NAMES.get(o.dotted_string, o.dotted_string) for o in eku)
                            if eku is not None else None),
        subject_key_id=ski.digest.hex().upper() if ski is not None else None,
        authority_key_id=(aki.key_identifier.hex().upper()
                          if aki is not None and aki.key_identifier is not None else None),
        critical_extensions=tuple(critical),
        name_constraints=values.get(ExtensionOID.NAME_CONSTRAINTS),
        parse_warnings=(),
    )


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest().upper()


def crl_facts(der: bytes) -> CrlFacts:
    """Parse one DER CRL into facts; :class:`Unparseable` says why it cannot be read."""
    try:
        crl = x509.load_der_x509_crl(der)
        extensions = crl.extensions
        negative = 0
        entry_critical: set[str] = set()
        serials: list[int] = []
        for revoked in crl:  # one pass: a CRL may hold 500,000 entries
            serial = revoked.serial_number
            if serial < 0:
                negative += 1
            else:
                serials.append(serial)
            for ext in revoked.extensions:
                if ext.critical:
                    entry_critical.add(ext.oid.dotted_string)
        number = _extension_value(extensions, x509.CRLNumber)
        aki = _extension_value(extensions, x509.AuthorityKeyIdentifier)
        return CrlFacts(
            crl=crl,
            issuer=name_of(crl.issuer),
            issuer_der=crl.issuer.public_bytes(),
            this_update=crl.last_update_utc,
            next_update=crl.next_update_utc,
            entries=len(serials) + negative,
            negative_serials=negative,
            revoked=frozenset(serials),
            signature_algorithm=signature_name(crl.signature_algorithm_oid),
            signature_hash=_hash_name(crl),
            crl_number=number.crl_number if number is not None else None,
            authority_key_id=(aki.key_identifier.hex().upper()
                              if aki is not None and aki.key_identifier is not None else None),
            critical_extensions=tuple(e.oid.dotted_string for e in extensions if e.critical),
            critical_entry_extensions=tuple(sorted(entry_critical)),
        )
    except Exception as exc:
        raise Unparseable(_reason(exc)) from exc


CRITICAL_EXTENSION_NAMES = {o.dotted_string: o._name for o in vars(ExtensionOID).values()
                            if isinstance(o, x509.ObjectIdentifier)}
