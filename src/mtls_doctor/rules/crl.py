"""Rules on the CRL files uploaded with AddTrustStoreRevocations."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.facts import CRITICAL_EXTENSION_NAMES, CrlFacts
from mtls_doctor.profiles import (
    A_ATR,
    AWSLC_CRL,
    D_CFG,
    D_Q,
    UNDERSTOOD_CRITICAL_CRL_EXTENSIONS,
)
from mtls_doctor.rules.registry import Basis, CheckContext, Hit, Scope, Severity, register
from mtls_doctor.signatures import crl_signed_by
from mtls_doctor.truststore import CrlFile

E, W = Severity.ERROR, Severity.WARNING
DOC, INF = Basis.DOCUMENTED, Basis.INFERRED
CRL = Scope.CRL


@register("crl.unparseable", E, DOC, A_ATR, "Every CRL file decodes to an X.509 CRL.",
          "Re-export the CRL from the CA (`openssl ca -gencrl`).", Scope.STORE)
def unparseable(ctx: CheckContext) -> Iterator[Hit]:
    for crl in ctx.store.crls:
        if crl.facts is None:
            yield Hit(f"CRL file {crl.file} cannot be parsed: {crl.problem}.", crl=crl.index)


@register("crl.not-pem", E, DOC, D_CFG, "CRL files are PEM (-----BEGIN X509 CRL-----).",
          "Convert it: `openssl crl -inform DER -in FILE -out FILE.pem`.", Scope.STORE)
def not_pem(ctx: CheckContext) -> Iterator[Hit]:
    for crl in ctx.store.crls:
        if crl.format == "der":
            yield Hit(f"CRL file {crl.file} is DER; the load balancer takes PEM CRLs only.",
                      crl=crl.index)


@register("crl.too-large", E, DOC, D_Q, "Each CRL file is at most 50 MB.",
          "Split the CRL (partitioned CRLs per issuer) or prune expired entries.", Scope.STORE)
def too_large(ctx: CheckContext) -> Iterator[Hit]:
    limit = ctx.profile.limit("revocation-list-size")
    for crl in ctx.store.crls:
        if crl.size > limit:
            yield Hit(f"CRL file {crl.file} is {crl.size:,} bytes; the limit is {limit:,}.",
                      crl=crl.index)


@register("crl.too-many", E, DOC, D_Q, "The trust store holds no more CRL files than the quota "
          "(default 30).", "Merge CRLs per issuer, or raise the quota (L-332EE142) and pass "
          "--quota revocation-lists=N.", Scope.STORE)
def too_many(ctx: CheckContext) -> Iterator[Hit]:
    count, limit = len(ctx.store.crls), ctx.profile.limit("revocation-lists")
    if count > limit:
        yield Hit(f"{count} CRL files; the quota is {limit}.")


@register("crl.too-many-entries", E, DOC, D_Q, "All CRLs together hold no more revocation "
          "entries than the quota (default 500,000).", "Prune entries of expired certificates, "
          "or raise the quota (L-37E1617B) and pass --quota revocation-entries=N.", Scope.STORE)
def too_many_entries(ctx: CheckContext) -> Iterator[Hit]:
    total = sum(c.facts.entries for c in ctx.store.crls if c.facts is not None)
    limit = ctx.profile.limit("revocation-entries")
    if total > limit:
        yield Hit(f"The CRLs hold {total:,} revocation entries; the quota is {limit:,}.")


@register("crl.issuer-unknown", W, INF, D_CFG, "Each CRL was issued by a CA in the bundle.",
          "Upload the CRL of a CA that is in the bundle (a CRL of another CA never applies, or "
          "fails chains with ClientCertCrlProcessingError).", CRL)
def issuer_unknown(ctx: CheckContext, crl: CrlFile, facts: CrlFacts) -> str | None:
    if not ctx.store.candidates(facts.issuer_der):
        return f"No certificate in the bundle has the CRL's issuer name ({facts.issuer})."
    return None


@register("crl.bad-signature", W, INF, AWSLC_CRL, "The CRL's signature verifies with its "
          "issuer's key from the bundle.", "Regenerate the CRL with the CA's current key; until "
          "then chains under that CA fail with ClientCertCrlProcessingError.", CRL)
def bad_signature(ctx: CheckContext, crl: CrlFile, facts: CrlFacts) -> str | None:
    issuer = ctx.store.crl_issuer(facts)
    if (issuer is not None and issuer.facts is not None
            and not crl_signed_by(facts.crl, issuer.facts.certificate)):
        return (f"The signature does not verify with the key of certificate #{issuer.index} "
                f"({issuer.facts.subject}).")
    return None


@register("crl.signature-algorithm", E, DOC, A_ATR, "The CRL is signed with SHA-256/384/512 and "
          "RSA, RSA-PSS or ECDSA.", "Regenerate the CRL with a SHA-256 (or stronger) "
          "signature (`openssl ca -gencrl -md sha256`).", CRL)
def signature_algorithm(ctx: CheckContext, crl: CrlFile, facts: CrlFacts) -> str | None:
    return ctx.profile.signature_problem(facts.signature_algorithm, facts.signature_hash)


@register("crl.stale", W, INF, AWSLC_CRL, "The CRL is current (nextUpdate in the future).",
          "Publish a fresh CRL and upload it; the load balancer still uses a stale one, so "
          "revocations made since are not enforced.", CRL)
def stale(ctx: CheckContext, crl: CrlFile, facts: CrlFacts) -> str | None:
    if facts.next_update is not None and facts.next_update < ctx.at:
        return (f"Its nextUpdate was {facts.next_update:%Y-%m-%d %H:%M:%SZ}: the load balancer "
                "still uses it, but revocations made since are missing.")
    if facts.this_update > ctx.at:
        return f"Its thisUpdate is in the future ({facts.this_update:%Y-%m-%d %H:%M:%SZ})."
    return None


@register("crl.negative-serial", W, DOC, D_CFG, "The CRL lists no negative serial numbers.",
          "Reissue those client certificates with positive serials; the load balancer cannot "
          "revoke negative ones.", CRL)
def negative_serial(ctx: CheckContext, crl: CrlFile, facts: CrlFacts) -> str | None:
    if facts.negative_serials:
        return (f"{facts.negative_serials} entr{'y' if facts.negative_serials == 1 else 'ies'} "
                "with a negative serial: the load balancer cannot revoke those certificates.")
    return None


@register("crl.critical-extension", W, INF, AWSLC_CRL, "No critical CRL or entry extension the "
          "load balancer's TLS library does not handle (delta CRLs included).",
          "Publish a full CRL without that critical extension.", CRL)
def critical_extension(ctx: CheckContext, crl: CrlFile, facts: CrlFacts) -> str | None:
    unknown = [o for o in facts.critical_extensions
               if o not in UNDERSTOOD_CRITICAL_CRL_EXTENSIONS]
    unknown += [o for o in facts.critical_entry_extensions if o != "2.5.29.29"]
    if unknown:
        named = ", ".join(f"{CRITICAL_EXTENSION_NAMES.get(o, 'unknown')} ({o})" for o in unknown)
        return (f"Critical extension(s) not handled: {named}; chains under this CA fail with "
                "ClientCertCrlProcessingError.")
    return None


@register("crl.duplicate", W, INF, D_Q, "No CRL is uploaded twice (same file, or same issuer "
          "and CRL number).", "Upload each CRL once; copies count against the quotas.",
          Scope.STORE)
def duplicate(ctx: CheckContext) -> Iterator[Hit]:
    seen: dict[object, CrlFile] = {}
    for crl in ctx.store.crls:
        if crl.facts is None:
            continue
        keys: list[object] = [crl.sha256]
        if crl.facts.crl_number is not None:
            keys.append((crl.facts.issuer_der, crl.facts.crl_number))
        original = next((seen[k] for k in keys if k in seen), None)
        if original is not None:
            yield Hit(f"CRL file {crl.file} repeats {original.file} (#{original.index}).",
                      crl=crl.index)
        for key in keys:
            seen.setdefault(key, crl)
