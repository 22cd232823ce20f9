"""check_trust_store: apply every rule to a loaded trust store and return a Report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from mtls_doctor.profiles import PROFILES, Profile
from mtls_doctor.rules import RULES, CheckContext, Finding, Severity, run
from mtls_doctor.truststore import TrustStore


@dataclass(frozen=True)
class Report:
    """The result of a check: the store, every finding, and the rule ids the user ignores.

    ``accepted`` counts every upload-blocking finding, ignored or not, because ``--ignore`` does
    not change what AWS does; everything a user is shown comes from :attr:`shown`.
    """

    store: TrustStore
    profile: Profile
    at: datetime
    warn_days: int
    findings: tuple[Finding, ...]
    ignored: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """Whether CreateTrustStore/ModifyTrustStore and AddTrustStoreRevocations would accept."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @cached_property
    def shown(self) -> tuple[Finding, ...]:
        """The findings whose rule is not ignored."""
        return tuple(f for f in self.findings if f.rule not in self.ignored)

    @cached_property
    def _by_place(self) -> dict[tuple[str, int], tuple[Finding, ...]]:
        places: dict[tuple[str, int], list[Finding]] = {}
        for f in self.shown:
            if f.certificate is not None:
                places.setdefault(("certificate", f.certificate), []).append(f)
            if f.crl is not None:
                places.setdefault(("crl", f.crl), []).append(f)
        return {place: tuple(found) for place, found in places.items()}

    def for_certificate(self, index: int) -> tuple[Finding, ...]:
        return self._by_place.get(("certificate", index), ())

    def for_crl(self, index: int) -> tuple[Finding, ...]:
        return self._by_place.get(("crl", index), ())

    def general(self) -> tuple[Finding, ...]:
        """Shown findings about the bundle or the CRL set as a whole."""
        return tuple(f for f in self.shown if f.certificate is None and f.crl is None)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.shown if f.severity is severity)

    def fails(self, fail_on: Severity | None) -> bool:
        """Whether any shown finding is at or above ``fail_on`` (None: never fail)."""
        return fail_on is not None and any(f.severity.rank >= fail_on.rank for f in self.shown)


def _profile(profile: str | Profile, quotas: Mapping[str, int]) -> Profile:
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
        profile = PROFILES[profile]
    return profile.with_quotas(quotas) if quotas else profile


def check_trust_store(store: TrustStore, *, profile: str | Profile = "alb",
                      at: datetime | None = None, warn_days: int = 30,
                      ignore: Iterable[str] = (), quotas: Mapping[str, int] | None = None
                      ) -> Report:
    """Check a trust store against every rule of the profile.

    ``at`` is the time expiry is judged at (default now, UTC); ``ignore`` lists rule ids to leave
    out of the findings; ``quotas`` raises adjustable quotas (``{"ca-certificates": 50}``).
    Raises ValueError for an unknown profile, quota or rule id.
    """
    ignored = tuple(ignore)
    unknown = [r for r in ignored if r not in RULES]
    if unknown:
        raise ValueError(f"unknown rule id(s): {', '.join(unknown)} (see `mtls-doctor rules`)")
    if warn_days < 0:
        raise ValueError("warn_days must not be negative")
    when = (at or datetime.now(UTC)).astimezone(UTC)
    chosen = _profile(profile, quotas or {})
    found = run(CheckContext(store, chosen, when, warn_days))
    found.sort(key=lambda f: (f.line or 0, f.certificate or 0, f.crl or 0))
    return Report(store, chosen, when, warn_days, tuple(found), ignored)
