"""Rules on each CA certificate of the bundle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from mtls_doctor.facts import CRITICAL_EXTENSION_NAMES, CertificateFacts
from mtls_doctor.profiles import (
    A_CT,
    AWSLC_PURP,
    D_CL,
    D_MA,
    D_Q,
    RFC5280_SERIAL,
    UNDERSTOOD_CRITICAL_EXTENSIONS,
)
from mtls_doctor.rules.registry import Basis, CheckContext, Hit, Scope, Severity, register
from mtls_doctor.truststore import BundleCertificate

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741
DOC, INF = Basis.DOCUMENTED, Basis.INFERRED
CERT = Scope.CERTIFICATE


@register("cert.unparseable", E, DOC, A_CT, "Every certificate block decodes to an X.509 "
          "certificate.", "Re-export the certificate from its source, or remove it "
          "(`mtls-doctor fix` drops it).", Scope.STORE)
def unparseable(ctx: CheckContext) -> Iterator[Hit]:
    for cert in ctx.store.certificates:
        if cert.facts is None:
            yield Hit(f"Certificate #{cert.index} cannot be parsed: {cert.problem}.",
                      certificate=cert.index, line=cert.line)


@register("cert.version", E, DOC, D_MA, "Certificates are X.509 version 3.",
          "Reissue the CA certificate as version 3 with CA basic constraints.", CERT)
def version(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    if facts.version != 3:
        return f"This is an X.509 version {facts.version} certificate; only version 3 is supported."
    return None


@register("cert.key-type", E, DOC, D_MA, "The public key is RSA or ECDSA.",
          "Reissue the CA with an RSA (2048-8192 bits) or ECDSA P-256/P-384/P-521 key.", CERT)
def key_type(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    if facts.key.type not in ("RSA", "RSA-PSS", "EC"):
        return f"The public key is {facts.key.type}; only RSA and ECDSA keys are supported."
    return None


@register("cert.rsa-size", E, DOC, D_MA, "RSA keys are 2048 to 8192 bits.",
          "Reissue the CA with an RSA key of 2048 to 8192 bits (or ECDSA).", CERT)
def rsa_size(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    low, high = ctx.profile.rsa_bits
    bits = facts.key.bits
    if facts.key.type in ("RSA", "RSA-PSS") and bits is not None and not low <= bits <= high:
        return f"The RSA key has {bits} bits; supported sizes are {low} to {high}."
    return None


@register("cert.ec-curve", E, DOC, D_MA, "EC keys use secp256r1, secp384r1 or secp521r1.",
          "Reissue the CA on P-256, P-384 or P-521.", CERT)
def ec_curve(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    if facts.key.type == "EC" and facts.key.curve not in ctx.profile.ec_curves:
        return f"The EC key is on {facts.key.curve}; supported curves are " + ", ".join(
            sorted(ctx.profile.ec_curves)) + "."
    return None


@register("cert.signature-algorithm", E, DOC, D_MA, "The certificate is signed with SHA-256/384/"
          "512 and RSA, RSA-PSS or ECDSA.", "Reissue the certificate with a SHA-256 (or "
          "stronger) signature.", CERT)
def signature_algorithm(ctx: CheckContext, cert: BundleCertificate,
                        facts: CertificateFacts) -> str | None:
    return ctx.profile.signature_problem(facts.signature_algorithm, facts.signature_hash)


@register("cert.not-ca", E, INF, D_MA, "Every certificate is a CA (basicConstraints CA:TRUE).",
          "Remove leaf certificates from the bundle; only the CAs that issue client "
          "certificates belong in it.", CERT)
def not_ca(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    if facts.is_ca is None:
        return "The certificate has no basicConstraints extension, so it is not a CA."
    if not facts.is_ca:
        return "basicConstraints says CA:FALSE: this is a leaf certificate, not a CA."
    return None


@register("cert.no-cert-sign", W, INF, AWSLC_PURP, "A CA whose keyUsage is present includes "
          "keyCertSign.", "Reissue the CA with keyUsage keyCertSign (and cRLSign).", CERT)
def no_cert_sign(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    if facts.is_ca and facts.key_usage is not None and "keyCertSign" not in facts.key_usage:
        return ("keyUsage lacks keyCertSign, so this CA cannot issue certificates: every client "
                "chain through it fails with ClientCertUntrusted.")
    return None


@register("cert.too-large", E, DOC, D_Q, "Each CA certificate is at most 16 KB (DER, an "
          "inferred unit).", "Reissue the CA without the oversized extensions.", CERT)
def too_large(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    limit = ctx.profile.limit("ca-certificate-size")
    if cert.der_size > limit:
        return f"The certificate is {cert.der_size:,} bytes (DER); the limit is {limit:,}."
    return None


@register("cert.expired", W, DOC, D_CL, "The CA certificate has not expired.",
          "Replace it with the CA's renewed certificate; until then every client chain through "
          "it fails with ClientCertExpired.", CERT)
def expired(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    if facts.not_after < ctx.at:
        return (f"Expired on {facts.not_after:%Y-%m-%d %H:%M:%SZ}: every client chain through it "
                "fails with ClientCertExpired.")
    return None


@register("cert.not-yet-valid", W, DOC, D_CL, "The CA certificate is already valid.",
          "Wait for its notBefore, or check the issuing system's clock.", CERT)
def not_yet_valid(ctx: CheckContext, cert: BundleCertificate,
                  facts: CertificateFacts) -> str | None:
    if facts.not_before > ctx.at:
        return (f"Not valid before {facts.not_before:%Y-%m-%d %H:%M:%SZ}: until then client "
                "chains through it fail with ClientCertNotYetValid.")
    return None


@register("cert.expires-soon", W, DOC, D_CL, "The CA certificate does not expire within "
          "--warn-days (default 30).", "Get the renewed CA certificate and add it to the bundle "
          "before this one expires.", CERT)
def expires_soon(ctx: CheckContext, cert: BundleCertificate,
                 facts: CertificateFacts) -> str | None:
    left = facts.not_after - ctx.at
    if timedelta(0) <= left < timedelta(days=ctx.warn_days):
        return f"Expires on {facts.not_after:%Y-%m-%d} ({left.days} days from the check time)."
    return None


@register("cert.critical-extension", W, INF, AWSLC_PURP, "No critical extension the load "
          "balancer's TLS library does not understand.", "Reissue the CA without the critical "
          "flag on that extension.", CERT)
def critical_extension(ctx: CheckContext, cert: BundleCertificate,
                       facts: CertificateFacts) -> str | None:
    unknown = [o for o in facts.critical_extensions if o not in UNDERSTOOD_CRITICAL_EXTENSIONS]
    if unknown:
        named = ", ".join(f"{CRITICAL_EXTENSION_NAMES.get(o, 'unknown')} ({o})" for o in unknown)
        return (f"Critical extension(s) AWS-LC does not handle: {named}; client chains through "
                "this CA fail with ClientCertUntrusted.")
    return None


@register("cert.serial", W, INF, RFC5280_SERIAL, "The serial number is positive and at most 20 "
          "bytes (RFC 5280).", "Reissue the certificate with a positive serial of at most 20 "
          "bytes.", CERT)
def serial(ctx: CheckContext, cert: BundleCertificate, facts: CertificateFacts) -> str | None:
    number = facts.serial_number
    if number <= 0:
        return (f"The serial number is {'zero' if number == 0 else 'negative'} ({facts.serial}); "
                "RFC 5280 forbids it and strict parsers (cryptography) will refuse such "
                "certificates.")
    if (number.bit_length() + 8) // 8 > 20:
        return f"The serial number is longer than 20 bytes ({facts.serial})."
    return None


@register("cert.eku-no-client-auth", I, INF, AWSLC_PURP, "A CA with extendedKeyUsage lists "
          "clientAuth.", "If clients send this CA as an intermediate, reissue it with clientAuth "
          "in extendedKeyUsage.", CERT)
def eku_no_client_auth(ctx: CheckContext, cert: BundleCertificate,
                       facts: CertificateFacts) -> str | None:
    eku = facts.extended_key_usage
    if eku is not None and "clientAuth" not in eku:
        return ("extendedKeyUsage (" + ", ".join(eku) + ") lacks clientAuth. As a trust anchor "
                "this is not checked, but a client that sends this CA as an intermediate fails "
                "with ClientCertPurposeInvalid.")
    return None


@register("cert.path-length", I, INF, AWSLC_PURP, "Path length constraints are consistent with "
          "the bundle's own hierarchy.", "Reissue the constraining CA with a larger pathLen, or "
          "drop the constraint from a non-CA certificate.", Scope.STORE)
def path_length(ctx: CheckContext) -> Iterator[Hit]:
    certs = {c.index: facts for c, facts in ctx.store.parsed}
    lines = {c.index: c.line for c in ctx.store.certificates}
    issuers = ctx.store.issuers
    for index, facts in certs.items():
        if facts.path_length is not None and not facts.is_ca:
            yield Hit("pathLenConstraint is set on a certificate that is not a CA (RFC 5280 "
                      "forbids it).", certificate=index, line=lines[index])
        if not facts.is_ca:
            continue
        below, current, seen = 0, index, {index}
        while current in issuers and issuers[current] not in seen:
            child, current = certs[current], issuers[current]
            seen.add(current)
            if not child.self_issued:
                below += 1
            limit = certs[current].path_length
            if limit is not None and below > limit:
                yield Hit(f"Issued (through {below} CA level(s)) under #{current}, whose pathLen "
                          f"is {limit}: chains that reach #{current} through this CA fail with "
                          "ClientCertUntrusted.", certificate=index, line=lines[index])
                break


@register("cert.partial-chain", I, INF, D_MA, "Every intermediate CA's issuer is in the bundle "
          "too (otherwise it is a trust anchor on its own).", "Nothing to do if this is "
          "intended; add the issuing root to anchor at the root instead.", CERT)
def partial_chain(ctx: CheckContext, cert: BundleCertificate,
                  facts: CertificateFacts) -> str | None:
    if facts.is_ca and not facts.self_issued and cert.index not in ctx.store.issuers:
        return (f"Its issuer ({facts.issuer}) is not in the bundle: the load balancer trusts it "
                "as an anchor on its own (partial chain), so it alone decides which clients pass.")
    return None
