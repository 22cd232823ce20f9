"""Rules on the bundle file as a whole: grammar, quotas, duplicates."""

from __future__ import annotations

from collections.abc import Iterator

from mtls_doctor.profiles import A_CT, D_MA, D_Q
from mtls_doctor.rules.registry import Basis, CheckContext, Hit, Scope, Severity, register

_GRAMMAR = {
    "bundle.empty": (D_MA, "The bundle holds at least one PEM certificate.",
                     "Put the CA certificates (PEM) your clients chain to in the file."),
    "bundle.not-pem": (D_MA, "The bundle is PEM text, not DER, PKCS#7 or PKCS#12.",
                       "Convert it: `mtls-doctor fix BUNDLE -o bundle.pem` (or "
                       "`openssl x509 -inform DER`, `openssl pkcs7 -print_certs`)."),
    "bundle.blank-line": (D_MA, "The bundle has no blank lines, not even between blocks or at "
                          "the end.", "Delete the blank lines, or run `mtls-doctor fix`."),
    "bundle.stray-text": (D_MA, "Every line outside a PEM block is a '#' comment (no text "
                          "dumps, no stray text).",
                          "Delete the text or turn it into '#' comments, or run "
                          "`mtls-doctor fix`."),
    "bundle.comment-dash": (D_MA, "Comment lines contain no '-' character.",
                            "Remove the '-' characters from the comment, or run "
                            "`mtls-doctor fix`."),
    "bundle.bad-base64": (A_CT, "Every PEM block is complete, valid base64.",
                          "Re-export the certificate from its source; the block is corrupt or "
                          "truncated."),
    "bundle.not-a-certificate": (D_MA, "Every PEM block is a CERTIFICATE (no keys, CRLs or "
                                 "requests).", "Remove the block, or run `mtls-doctor fix`."),
}


def _grammar_rule(rule_id: str) -> None:
    citation, description, fix = _GRAMMAR[rule_id]

    @register(rule_id, Severity.ERROR, Basis.DOCUMENTED, citation, description, fix, Scope.STORE)
    def check(ctx: CheckContext) -> Iterator[Hit]:
        for issue in ctx.store.scan.issues:
            if issue.rule == rule_id:
                yield Hit(issue.message, line=issue.line)


for _rule_id in _GRAMMAR:
    _grammar_rule(_rule_id)


@register("bundle.too-many-certificates", Severity.ERROR, Basis.DOCUMENTED, D_Q,
          "The bundle holds no more CA certificates than the trust store quota (default 25).",
          "Remove certificates clients do not chain to, or raise the quota (L-43FE5A42) and "
          "pass --quota ca-certificates=N.", Scope.STORE)
def too_many_certificates(ctx: CheckContext) -> Iterator[Hit]:
    count, limit = len(ctx.store.certificates), ctx.profile.limit("ca-certificates")
    if count > limit:
        yield Hit(f"The bundle holds {count} certificates; the quota is {limit}.")


@register("bundle.subject-size", Severity.ERROR, Basis.DOCUMENTED, D_Q,
          "The CA subjects together fit the subject-size quota (default 10,000; counted here as "
          "bytes of DER-encoded subject names, an inferred unit).",
          "Remove certificates, or raise the quota (L-F31E307C) and pass "
          "--quota ca-subject-size=N.", Scope.STORE)
def subject_size(ctx: CheckContext) -> Iterator[Hit]:
    total = sum(len(facts.subject_der) for _, facts in ctx.store.parsed)
    limit = ctx.profile.limit("ca-subject-size")
    if total > limit:
        yield Hit(f"The subjects total {total:,} bytes of DER; the quota is {limit:,}.")


@register("bundle.duplicate", Severity.WARNING, Basis.INFERRED, D_Q,
          "No certificate appears twice (a copy counts again against the certificate and "
          "subject-size quotas).", "Remove the copy, or run `mtls-doctor fix`.", Scope.STORE)
def duplicate(ctx: CheckContext) -> Iterator[Hit]:
    first_seen: dict[str, int] = {}
    for cert in ctx.store.certificates:
        if cert.block.der is None:
            continue
        if cert.sha256 in first_seen:
            original = ctx.store.certificates[first_seen[cert.sha256] - 1]
            where = f" (line {original.line})" if original.line else ""
            yield Hit(f"Certificate #{cert.index} is a copy of #{original.index}{where}.",
                      certificate=cert.index, line=cert.line)
        else:
            first_seen[cert.sha256] = cert.index
