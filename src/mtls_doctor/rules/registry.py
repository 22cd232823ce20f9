"""The rule registry: every rule has a stable id, a severity, a basis, a citation and a fix.

Rules come in three scopes. A *store* rule sees the whole trust store and yields :class:`Hit` s; a
*certificate* rule sees one parsed certificate and returns a message or None; a *CRL* rule sees one
parsed CRL likewise. :func:`run` applies them all; a rule that crashes becomes a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from mtls_doctor.facts import CertificateFacts, CrlFacts
from mtls_doctor.profiles import Profile
from mtls_doctor.truststore import BundleCertificate, CrlFile, TrustStore


class Severity(Enum):
    """``error``: the API rejects the upload; ``warning``: accepted, but clients will fail."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Basis(Enum):
    """Whether AWS documents the behaviour, or we infer it from s2n-tls / AWS-LC."""

    DOCUMENTED = "documented"
    INFERRED = "inferred"


class Scope(Enum):
    STORE = "store"
    CERTIFICATE = "certificate"
    CRL = "crl"


@dataclass(frozen=True)
class Finding:
    """One problem found: which rule, how bad, where (certificate or CRL index, bundle line)."""

    rule: str
    severity: Severity
    message: str
    fix: str
    basis: Basis
    certificate: int | None = None
    crl: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class Hit:
    """What a store rule reports; the registry turns it into a :class:`Finding`."""

    message: str
    certificate: int | None = None
    crl: int | None = None
    line: int | None = None


@dataclass(frozen=True)
class CheckContext:
    """What every rule may look at."""

    store: TrustStore
    profile: Profile
    at: datetime
    warn_days: int


@dataclass(frozen=True)
class Rule:
    """A registered rule and the function that applies it."""

    id: str
    severity: Severity
    basis: Basis
    citation: str
    description: str
    fix: str
    scope: Scope
    check: Callable[..., Any]

    def finding(self, hit: Hit) -> Finding:
        return Finding(self.id, self.severity, hit.message, self.fix, self.basis,
                       hit.certificate, hit.crl, hit.line)


RULES: dict[str, Rule] = {}


def register(rule_id: str, severity: Severity, basis: Basis, citation: str, description: str,
             fix: str, scope: Scope) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that adds a rule to :data:`RULES`; a duplicate id fails at import."""

    def decorate(check: Callable[..., Any]) -> Callable[..., Any]:
        if rule_id in RULES:
            raise RuntimeError(f"rule id {rule_id!r} registered twice")
        RULES[rule_id] = Rule(rule_id, severity, basis, citation, description, fix, scope, check)
        return check

    return decorate


def _hits(rule: Rule, ctx: CheckContext) -> Iterator[Hit]:
    if rule.scope is Scope.STORE:
        yield from rule.check(ctx)
        return
    if rule.scope is Scope.CERTIFICATE:
        certs: Iterable[tuple[BundleCertificate, CertificateFacts]] = ctx.store.parsed
        for cert, facts in certs:
            message = _guarded(rule, ctx, cert, facts)
            if message:
                yield Hit(message, certificate=cert.index, line=cert.line)
        return
    crls: list[tuple[CrlFile, CrlFacts]] = [(c, c.facts) for c in ctx.store.crls
                                            if c.facts is not None]
    for crl, crl_facts in crls:
        message = _guarded(rule, ctx, crl, crl_facts)
        if message:
            yield Hit(message, crl=crl.index)


def _guarded(rule: Rule, ctx: CheckContext, item: Any, facts: Any) -> str | None:
    try:
        result: str | None = rule.check(ctx, item, facts)
    except Exception as exc:
        return f"Could not be checked ({type(exc).__name__}: {exc})."
    return result


def run(ctx: CheckContext) -> list[Finding]:
    """Every finding of every rule, in registry order."""
    findings: list[Finding] = []
    for rule in RULES.values():
        try:
            findings.extend(rule.finding(hit) for hit in _hits(rule, ctx))
        except Exception as exc:
            crash = f"Could not be checked ({type(exc).__name__}: {exc})."
            findings.append(rule.finding(Hit(crash)))
    return findings
