"""Certificate and CRL factory for the mtls-doctor tests.

Normal material is built with ``cryptography``. Material that ``cryptography`` refuses to
build is made another way, and the docstring of each such function says how:

* SHA-1/MD5 signatures, X.509 v1, and certificates with serial 0 or a negative serial come
  from the ``openssl`` command line (:func:`openssl_ca`). Tests that use them need the
  :data:`requires_openssl` marker.
* A certificate or CRL that ``cryptography`` refuses to sign (a serial <= 0, a CRL with no
  nextUpdate) is built with a valid placeholder, then its DER is patched and signed again
  with the same key (:func:`reserial`, :func:`crl_with_negative_serial`,
  :func:`crl_without_next_update`). This needs no ``openssl``.

Functions that make certificates with a serial <= 0 return PEM bytes, never parsed objects:
``cryptography`` emits a ``CryptographyDeprecationWarning`` when it loads such a
certificate and each time ``serial_number`` is read, and pytest here makes warnings errors.
"""

from __future__ import annotations

import base64
import datetime
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias, get_args

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey: TypeAlias = CertificateIssuerPrivateKeyTypes
ExtSpec: TypeAlias = tuple[x509.ExtensionType, bool]
"""An extension and its criticality."""

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
"""Time the defaults count from; fixed when the module is imported."""

DAY = datetime.timedelta(days=1)
SHA256 = hashes.SHA256()

# IANA's example enterprise number (RFC 5612): an OID no one will ever recognize.
PRIVATE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.32473.1.1")
PADDING_OID = x509.ObjectIdentifier("1.3.6.1.4.1.32473.1.2")

requires_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None and not os.environ.get("MTLS_DOCTOR_REQUIRE_ORACLES"),
    reason="the openssl command line is not installed; .ci/run installs it",
)
"""Skip a test when ``openssl`` is missing, unless MTLS_DOCTOR_REQUIRE_ORACLES is set (CI),
where the test then runs and fails, as conftest's ``require_program`` does."""

# --------------------------------------------------------------------------- keys

_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "p256": ec.SECP256R1,
    "p384": ec.SECP384R1,
    "p521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}
_KEYS: dict[tuple[str, int | str], PrivateKey] = {}

KEY_KINDS = "rsaNNNN, dsaNNNN, p256, p384, p521, secp256k1, ed25519, ed448"


def key(kind: str = "rsa2048", slot: int | str = 0) -> PrivateKey:
    """Return a cached private key; each ``(kind, slot)`` pair gets its own key.

    ``kind`` is one of rsaNNNN (e.g. rsa1024, rsa2048), dsaNNNN, p256, p384, p521,
    secp256k1, ed25519, ed448. Keys are generated once per test session.
    """
    cache_key = (kind, slot)
    if cache_key not in _KEYS:
        _KEYS[cache_key] = _generate(kind)
    return _KEYS[cache_key]


def _generate(kind: str) -> PrivateKey:
    if m := re.fullmatch(r"rsa(\d+)", kind):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(m[1]))
    if m := re.fullmatch(r"dsa(\d+)", kind):
        return dsa.generate_private_key(key_size=int(m[1]))
    if kind in _CURVES:
        return ec.generate_private_key(_CURVES[kind]())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ValueError(f"unknown key kind {kind!r}; expected one of {KEY_KINDS}")


def _resolve_key(k: PrivateKey | str | None, slot: int | str) -> PrivateKey:
    if k is None:
        return key("rsa2048", slot)
    if isinstance(k, str):
        return key(k, slot)
    return k


def _hash_for(k: PrivateKey, h: hashes.HashAlgorithm | None) -> hashes.HashAlgorithm | None:
    """RSA, ECDSA and DSA sign with ``h``; EdDSA (and ML-DSA) keys take no separate hash."""
    if isinstance(k, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey):
        return h
    return None


# ----------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


_KU_FIELDS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _name(name: str | x509.Name) -> x509.Name:
    if isinstance(name, x509.Name):
        return name
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _key_usage(names: Iterable[str]) -> x509.KeyUsage:
    wanted = set(names)
    if unknown := wanted - set(_KU_FIELDS):
        raise ValueError(f"unknown key usage {sorted(unknown)}; expected some of {_KU_FIELDS}")
    return x509.KeyUsage(**{f: f in wanted for f in _KU_FIELDS})


def make_ca(
    name: str | x509.Name = "Test Root CA",
    *,
    issuer: Issued | None = None,
    key: PrivateKey | str | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    ca: bool | None = True,
    path_length: int | None = None,
    key_usage: Sequence[str] | None = ("key_cert_sign", "crl_sign"),
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    serial: int | None = None,
    extra_extensions: Sequence[ExtSpec] = (),
    hash: hashes.HashAlgorithm | None = SHA256,
    ski: bool = True,
    aki: bool = True,
) -> Issued:
    """Build a CA certificate; self-signed when ``issuer`` is None.

    ``key`` is a private key, a key kind for :func:`key`, or None for
    ``key("rsa2048", slot=name)``: certificates with the same name share a key by default,
    as a re-issued or cross-signed CA does. Validity defaults to NOW-1 day .. NOW+3650 days.
    ``ca=None`` omits basicConstraints (critical otherwise); ``key_usage=None`` omits
    keyUsage (critical otherwise); ``eku`` adds a non-critical extendedKeyUsage.
    ``serial`` must be positive (``cryptography`` refuses others): see :func:`reserial`.
    """
    slot = name if isinstance(name, str) else name.rfc4514_string()
    priv = _resolve_key(key, slot)
    subject = _name(name)
    signer_key = issuer.key if issuer else priv
    signer_name = issuer.cert.subject if issuer else subject
    if serial is not None and serial <= 0:
        raise ValueError("cryptography refuses serials <= 0; use reserial() or openssl_ca()")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(priv.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + 3650 * DAY)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    if key_usage is not None:
        builder = builder.add_extension(_key_usage(key_usage), critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(priv.public_key()), critical=False
        )
    if aki:
        builder = builder.add_extension(_aki_for(issuer, priv), critical=False)
    for ext, critical in extra_extensions:
        builder = builder.add_extension(ext, critical=critical)
    cert = builder.sign(signer_key, _hash_for(signer_key, hash))  # type: ignore[arg-type]
    return Issued(cert, priv)


def _aki_for(issuer: Issued | None, own_key: PrivateKey) -> x509.AuthorityKeyIdentifier:
    """AKI from the issuer's SKI when it has one, else from the issuer's public key."""
    if issuer is None:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(own_key.public_key())
    try:
        ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def make_leaf(
    name: str | x509.Name,
    issuer: Issued,
    *,
    key: PrivateKey | str | None = None,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    key_usage: Sequence[str] | None = ("digital_signature",),
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    ca: bool | None = False,
    serial: int | None = None,
    extra_extensions: Sequence[ExtSpec] = (),
    hash: hashes.HashAlgorithm | None = SHA256,
) -> Issued:
    """Build a client (end-entity) certificate issued by ``issuer``.

    Defaults: clientAuth EKU, digitalSignature key usage, basicConstraints CA:FALSE,
    validity NOW-1 day .. NOW+365 days, key ``key("rsa2048", slot=name)``.
    """
    return make_ca(
        name,
        issuer=issuer,
        key=key,
        not_before=not_before,
        not_after=not_after or NOW + 365 * DAY,
        ca=ca,
        key_usage=key_usage,
        eku=eku,
        serial=serial,
        extra_extensions=extra_extensions,
        hash=hash,
    )


def big_ca(name: str = "Big Test CA", *, min_der_size: int = 16 * 1024 + 1) -> Issued:
    """A self-signed CA whose DER is at least ``min_der_size`` bytes (default > 16 KiB).

    Odd: AWS load balancers cap each trust-store CA certificate at 16 KB ("CA certificate
    size" in the ALB quotas). The bulk is a non-critical extension with a private OID
    holding an OCTET STRING of zero bytes, so the certificate is otherwise ordinary.
    """
    pad = _der_tlv(0x04, bytes(min_der_size))
    return make_ca(name, extra_extensions=[(x509.UnrecognizedExtension(PADDING_OID, pad), False)])


def unknown_critical_ca(
    name: str = "Unknown Critical Test CA", *, oid: x509.ObjectIdentifier = PRIVATE_OID
) -> Issued:
    """A self-signed CA carrying a *critical* extension no verifier understands.

    Odd: RFC 5280 says a verifier must reject a certificate with an unrecognized critical
    extension (``openssl verify`` reports "unhandled critical extension"). The value is
    a DER NULL under a private OID.
    """
    ext = x509.UnrecognizedExtension(oid, b"\x05\x00")
    return make_ca(name, extra_extensions=[(ext, True)])


# --------------------------------------------------------------------------- CRLs


def make_crl(
    issuer: Issued,
    revoked_serials: Iterable[int | x509.RevokedCertificate] = (),
    *,
    last_update: datetime.datetime | None = None,
    next_update: datetime.datetime | None = None,
    hash: hashes.HashAlgorithm | None = SHA256,
    crl_number: int | None = 1,
    extensions: Sequence[ExtSpec] = (),
    signing_key: PrivateKey | None = None,
    aki: bool = True,
) -> x509.CertificateRevocationList:
    """Build a v2 CRL for ``issuer``; see :func:`pem` / :func:`der` for bytes.

    Defaults: lastUpdate NOW-1 hour, nextUpdate lastUpdate+7 days, CRL number 1 (None
    omits it), AKI from the issuer. Integer entries are revoked at lastUpdate.
    ``signing_key`` signs with another key than the issuer's (a bad signature while the
    issuer name and AKI still point at ``issuer``). Serials must be positive:
    ``cryptography`` refuses others, see :func:`crl_with_negative_serial`.
    """
    last = last_update or NOW - datetime.timedelta(hours=1)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(last)
        .next_update(next_update or last + 7 * DAY)
    )
    for entry in revoked_serials:
        if isinstance(entry, int):
            entry = (
                x509.RevokedCertificateBuilder().serial_number(entry).revocation_date(last).build()
            )
        builder = builder.add_revoked_certificate(entry)
    if crl_number is not None:
        builder = builder.add_extension(x509.CRLNumber(crl_number), critical=False)
    if aki:
        builder = builder.add_extension(_aki_for(issuer, issuer.key), critical=False)
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    signer = signing_key or issuer.key
    return builder.sign(signer, _hash_for(signer, hash))  # type: ignore[arg-type]


def crl_with_negative_serial(
    issuer: Issued, serials: Sequence[int] = (-5,), **kwargs: Any
) -> bytes:
    """PEM CRL from ``issuer`` revoking ``serials``, which may be zero or negative.

    Odd: RFC 5280 wants positive serials and ``RevokedCertificateBuilder`` refuses
    others. The CRL is built with positive placeholder serials, then the DER is patched
    and re-signed with the issuer key (or ``signing_key``), so the signature is valid.
    ``kwargs`` go to :func:`make_crl`. ``openssl ca -gencrl`` could do it too, from an
    index.txt with a ``-05`` serial, but this needs no CLI.
    """
    placeholders = {x509.random_serial_number(): s for s in serials}
    crl = make_crl(issuer, list(placeholders), **kwargs)
    signer = kwargs.get("signing_key") or issuer.key
    return _patch_crl(crl, signer, serial_map=placeholders)


def crl_without_next_update(issuer: Issued, **kwargs: Any) -> bytes:
    """PEM CRL from ``issuer`` without the optional nextUpdate field.

    Odd: RFC 5280 requires conforming issuers to include nextUpdate, and
    ``cryptography`` refuses to sign a CRL without it. Built normally, then the DER is
    patched and re-signed. ``kwargs`` go to :func:`make_crl`.
    """
    crl = make_crl(issuer, **kwargs)
    signer = kwargs.get("signing_key") or issuer.key
    return _patch_crl(crl, signer, drop_next_update=True)


def reserial(issued: Issued, serial: int, issuer: Issued | None = None) -> bytes:
    """PEM of ``issued.cert`` with its serial replaced, re-signed by ``issuer``.

    Odd: meant for serial 0 and negative serials, which ``cryptography`` refuses to
    build. ``issuer`` defaults to ``issued`` itself (right for self-signed certificates).
    Returns bytes because loading the result with ``cryptography`` emits warnings.
    """
    signer = (issuer or issued).key
    cert_der = issued.der
    tbs, alg, _sig = _children(cert_der)
    parts = _children(tbs)
    index = 1 if parts[0][0] == 0xA0 else 0  # skip the [0] version
    parts[index] = _der_int(serial)
    new_tbs = _der_tlv(0x30, b"".join(parts))
    hash_alg = issued.cert.signature_hash_algorithm
    return _pem("CERTIFICATE", _signed(new_tbs, alg, signer, hash_alg))


# ------------------------------------------------------------- DER re-signing


def _der_tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_int(value: int) -> bytes:
    """DER INTEGER in minimal two's complement (works for zero and negatives)."""
    length = (value if value >= 0 else ~value).bit_length() // 8 + 1
    return _der_tlv(0x02, value.to_bytes(length, "big", signed=True))


def _children(element: bytes) -> list[bytes]:
    """The raw child elements of a constructed DER element (single-byte tags only)."""

    def header(buf: bytes, off: int) -> tuple[int, int]:
        n, p = buf[off + 1], off + 2
        if n & 0x80:
            k = n & 0x7F
            n, p = int.from_bytes(buf[p : p + k], "big"), p + k
        return p, p + n

    start, end = header(element, 0)
    out = []
    while start < end:
        _, stop = header(element, start)
        out.append(element[start:stop])
        start = stop
    return out


def _sign(k: PrivateKey, data: bytes, h: hashes.HashAlgorithm | None) -> bytes:
    """Sign as X.509 does: RSA PKCS#1 v1.5, ECDSA, DSA with ``h``; EdDSA/ML-DSA without."""
    if isinstance(k, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey):
        if h is None:
            raise ValueError("a hash is needed to sign with this key")
        if isinstance(k, rsa.RSAPrivateKey):
            return k.sign(data, padding.PKCS1v15(), h)
        if isinstance(k, ec.EllipticCurvePrivateKey):
            return k.sign(data, ec.ECDSA(h))
        return k.sign(data, h)
    return k.sign(data)


def _signed(tbs: bytes, alg: bytes, k: PrivateKey, h: hashes.HashAlgorithm | None) -> bytes:
    """Assemble ``SEQUENCE { tbs, algorithm, BIT STRING signature }``."""
    sig = _der_tlv(0x03, b"\x00" + _sign(k, tbs, h))
    return _der_tlv(0x30, tbs + alg + sig)


def _patch_crl(
    crl: x509.CertificateRevocationList,
    signer: PrivateKey,
    *,
    serial_map: dict[int, int] | None = None,
    drop_next_update: bool = False,
) -> bytes:
    """Rewrite revoked serials and/or drop nextUpdate in a CRL, re-sign, return PEM."""
    tbs, alg, _sig = _children(crl.public_bytes(serialization.Encoding.DER))
    parts = _children(tbs)
    times = [i for i, p in enumerate(parts) if p[0] in (0x17, 0x18)]  # UTCTime/GeneralizedTime
    after_times = times[-1] + 1
    if serial_map and after_times < len(parts) and parts[after_times][0] == 0x30:
        entries = []
        for entry in _children(parts[after_times]):
            fields = _children(entry)
            value = int.from_bytes(fields[0][2:], "big", signed=True)
            fields[0] = _der_int(serial_map.get(value, value))
            entries.append(_der_tlv(0x30, b"".join(fields)))
        parts[after_times] = _der_tlv(0x30, b"".join(entries))
    if drop_next_update and len(times) == 2:
        del parts[times[1]]
    new_tbs = _der_tlv(0x30, b"".join(parts))
    return _pem("X509 CRL", _signed(new_tbs, alg, signer, crl.signature_hash_algorithm))


# ---------------------------------------------------------------- openssl CLI

OpensslKind = Literal[
    "sha1",
    "md5",
    "sha224",
    "dsa",
    "v1",
    "rsa1024",
    "ed25519",
    "secp256k1",
    "serial0",
    "negative-serial",
]
OPENSSL_KINDS: tuple[str, ...] = get_args(OpensslKind)
NEEDS_OPENSSL_CLI = frozenset({"sha1", "md5", "v1", "serial0", "negative-serial"})
"""The :func:`openssl_ca` kinds that really run ``openssl``; the rest use ``cryptography``."""

_CRYPTOGRAPHY_KINDS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "sha224": ("rsa2048", hashes.SHA224()),
    "dsa": ("dsa2048", hashes.SHA256()),
    "rsa1024": ("rsa1024", hashes.SHA256()),
    "ed25519": ("ed25519", hashes.SHA256()),
    "secp256k1": ("secp256k1", hashes.SHA256()),
}

_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = {cn}
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


class OpensslMissingError(RuntimeError):
    """The ``openssl`` command line is needed and not installed."""


def _run_openssl(command: str, cwd: Path) -> None:
    """Run ``openssl <command>`` (split on spaces) in ``cwd`` with its own openssl.cnf."""
    args = command.split()
    exe = shutil.which("openssl")
    if exe is None:
        raise OpensslMissingError(
            "the openssl command line is needed for this test material and is not "
            "installed; .ci/run installs it"
        )
    env = {**os.environ, "OPENSSL_CONF": str(cwd / "openssl.cnf")}
    done = subprocess.run(
        [exe, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")


def openssl_ca(kind: OpensslKind, name: str | None = None) -> bytes:
    """PEM of a self-signed CA that is odd in the way ``kind`` says.

    Kinds that need the ``openssl`` CLI (``cryptography`` refuses to make them; raise
    :class:`OpensslMissingError` without it), all with an RSA-2048 key:

    * ``sha1`` / ``md5``: signed with sha1WithRSAEncryption / md5WithRSAEncryption
      (OpenSSL 3.0 signs with MD5 at its default security level; cryptography refuses).
    * ``v1``: an X.509 v1 certificate, so no extensions at all (``openssl x509 -req``).
    * ``serial0`` / ``negative-serial``: serial 0 / serial -5.

    Kinds built with ``cryptography`` (no CLI needed): ``sha224`` (sha224WithRSAEncryption),
    ``dsa`` (DSA-2048, dsa_with_SHA256), ``rsa1024`` (weak RSA key), ``ed25519``,
    ``secp256k1`` (an ECDSA curve outside the usual NIST P-256/P-384/P-521).

    The key is ``key(<kind's key type>, slot=name)``; ``name`` defaults to
    ``f"Test {kind} CA"``. Every CLI-made CA has critical basicConstraints CA:TRUE, critical
    keyUsage keyCertSign+cRLSign, SKI and AKI, except ``v1``. Validity: now .. +3650 days.
    """
    cn = name or f"Test {kind} CA"
    if kind in _CRYPTOGRAPHY_KINDS:
        key_kind, h = _CRYPTOGRAPHY_KINDS[kind]
        return make_ca(cn, key=key(key_kind, slot=cn), hash=h).pem
    if kind not in NEEDS_OPENSSL_CLI:
        raise ValueError(f"unknown kind {kind!r}; expected one of {OPENSSL_KINDS}")
    priv = key("rsa2048", slot=cn)
    serial = {"serial0": "0", "negative-serial": "-5"}.get(kind, str(x509.random_serial_number()))
    md = kind if kind in ("sha1", "md5") else "sha256"
    with tempfile.TemporaryDirectory(prefix="mtls-doctor-factory-") as tmp:
        cwd = Path(tmp)
        (cwd / "openssl.cnf").write_text(_OPENSSL_CONFIG.format(cn=cn))
        (cwd / "key.pem").write_bytes(pem(priv))
        tail = f"-{md} -days 3650 -set_serial {serial} -out ca.pem"
        if kind == "v1":  # no extensions requested, so openssl writes a v1 certificate
            _run_openssl("req -new -config openssl.cnf -key key.pem -out ca.csr", cwd)
            _run_openssl(f"x509 -req -in ca.csr -signkey key.pem {tail}", cwd)
        else:
            _run_openssl(f"req -x509 -new -config openssl.cnf -key key.pem {tail}", cwd)
        return (cwd / "ca.pem").read_bytes()


# ------------------------------------------------------------------- encoding

Encodable: TypeAlias = (
    Issued | x509.Certificate | x509.CertificateRevocationList | x509.CertificateSigningRequest
)


def pem(obj: Encodable | PrivateKey) -> bytes:
    """PEM of a certificate, Issued (its certificate), CRL, CSR or private key (PKCS#8)."""
    if isinstance(obj, Issued):
        return obj.pem
    if isinstance(obj, Encodable):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def der(obj: Encodable | bytes) -> bytes:
    """DER of a certificate, Issued, CRL or CSR, or of the first block of PEM bytes."""
    if isinstance(obj, bytes):
        m = _PEM_BLOCK.search(obj)
        if m is None:
            raise ValueError("no PEM block found")
        return base64.b64decode(b"".join(m["body"].split()))
    if isinstance(obj, Issued):
        return obj.der
    return obj.public_bytes(serialization.Encoding.DER)


def _pem(label: str, der_bytes: bytes) -> bytes:
    body = base64.encodebytes(der_bytes).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    head, tail = f"-----BEGIN {label}-----".encode(), f"-----END {label}-----".encode()
    return b"\n".join([head, *lines, tail]) + b"\n"


_PEM_BLOCK = re.compile(
    rb"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----", re.S
)


def bundle(*items: Issued | x509.Certificate | bytes | str, comments: bool = False) -> bytes:
    """Concatenate PEM blocks into one bundle with no blank lines.

    Items are Issued, certificates, or PEM text (which may hold several blocks).
    ``comments=True`` puts a ``# <subject CN>`` line before each block; '-' characters in
    the CN become spaces so the comment can never look like a PEM armour line.
    """
    out: list[bytes] = []
    for item in items:
        if isinstance(item, Issued | x509.Certificate):
            item = pem(item)
        data = item.encode() if isinstance(item, str) else item
        for m in _PEM_BLOCK.finditer(data):
            body = [line.strip() for line in m["body"].splitlines() if line.strip()]
            block = _pem_lines(m["label"], body)
            if comments:
                out.append(b"# " + _comment_for(block) + b"\n")
            out.append(block)
    return b"".join(out)


def _pem_lines(label: bytes, body: list[bytes]) -> bytes:
    head, tail = b"-----BEGIN " + label + b"-----", b"-----END " + label + b"-----"
    return b"\n".join([head, *body, tail]) + b"\n"


def _comment_for(block: bytes) -> bytes:
    """The subject CN of a PEM certificate block, or the block label if that fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # serial 0 / negative serials warn
            cert = x509.load_pem_x509_certificate(block)
            cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        text = str(cns[0].value) if cns else cert.subject.rfc4514_string() or "no subject"
    except ValueError:
        text = block.split(b"\n", 1)[0].strip(b"-").decode()
    return text.replace("-", " ").encode()
