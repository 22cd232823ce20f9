"""Live trust stores: judged by the same check as local files, and changed only by a shown plan.

:func:`inspect` downloads what the load balancer holds and checks it exactly as ``check`` does.
:func:`plan` compares a local bundle with the live one; :func:`apply` carries the plan out (upload,
create or modify, wait until ACTIVE, download again and confirm) and, when a step fails, says what
was done, what was not, and in what state the live trust store is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mtls_doctor.aws import Account, AwsError, Listener, S3Object, TrustStoreInfo, validate_name
from mtls_doctor.check import Report, check_trust_store
from mtls_doctor.rules import Severity
from mtls_doctor.truststore import TrustStore, load_trust_store

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Inspection:
    """One live trust store: what AWS says of it, and the check of its bundle and CRLs."""

    info: TrustStoreInfo
    revocations: tuple[tuple[int, int], ...]
    listeners: tuple[Listener, ...]
    report: Report
    files: tuple[tuple[str, bytes], ...]  # (name/ca-bundle.pem or name/revocation-ID.crl, data)

    def trust_store_dict(self) -> dict[str, Any]:
        """The ``trust_store`` block of contract.md (JSON: aws inspect)."""
        return {
            "name": self.info.name, "arn": self.info.arn, "status": self.info.status,
            "number_of_ca_certificates": self.info.number_of_ca_certificates,
            "total_revoked_entries": self.info.total_revoked_entries,
            "revocations": [{"revocation_id": i, "entries": n} for i, n in self.revocations],
            "listeners": [{"listener_arn": x.listener_arn, "load_balancer_arn":
                           x.load_balancer_arn, "port": x.port, "mode": x.mode,
                           "ignore_client_certificate_expiry":
                           x.ignore_client_certificate_expiry,
                           "advertise_trust_store_ca_names": x.advertise_trust_store_ca_names}
                          for x in self.listeners],
        }


def inspect(account: Account, selectors: Iterable[str] = (), **check_options: Any
            ) -> list[Inspection]:
    """Download and check every chosen trust store of the Region (all when none is named);
    ``check_options`` go to :func:`check_trust_store`."""
    inspections = []
    for info in account.trust_stores(selectors):
        revocations = tuple(account.revocations(info.arn))
        files = [(f"{info.name}/ca-bundle.pem", account.bundle(info.arn))]
        files += [(f"{info.name}/revocation-{i}.crl", account.revocation(info.arn, i))
                  for i, _ in revocations]
        report = check_trust_store(load_trust_store(files[0], files[1:]), **check_options)
        inspections.append(Inspection(info, revocations, tuple(account.listeners(info.arn)),
                                      report, tuple(files)))
    return inspections


def inspect_document(region: str, used: int, limit: int,
                     inspections: list[Inspection]) -> dict[str, Any]:
    """The ``aws inspect`` JSON document of contract.md for one Region."""
    from mtls_doctor.report.json import to_dict

    return {"region": region, "quotas": {"trust_stores": {"used": used, "limit": limit}},
            "trust_stores": [to_dict(i.report) | {"trust_store": i.trust_store_dict()}
                             for i in inspections]}


@dataclass(frozen=True)
class Certificate:
    """A certificate named in a plan: its subject and SHA-256 fingerprint."""

    subject: str
    sha256: str


def certificates(store: TrustStore) -> tuple[Certificate, ...]:
    return tuple(Certificate(c.facts.subject if c.facts else "(unparseable)", c.sha256)
                 for c in store.certificates)


@dataclass(frozen=True)
class Plan:
    """What :func:`apply` will do. ``trust_store`` is None when it creates one named ``name``."""

    name: str
    trust_store: TrustStoreInfo | None
    bundle: S3Object
    local: tuple[Certificate, ...]
    live: tuple[Certificate, ...]
    crls: tuple[tuple[str, bytes, S3Object], ...]  # (local file, its bytes, S3 target)
    replaced_revocations: tuple[int, ...] = ()
    listeners: tuple[Listener, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()  # for a new trust store
    trust_stores_in_region: int | None = None  # counted when one is created

    @property
    def added(self) -> tuple[Certificate, ...]:
        return tuple(c for c in self.local if c not in self.live)

    @property
    def removed(self) -> tuple[Certificate, ...]:
        return tuple(c for c in self.live if c not in self.local)

    @property
    def changes_bundle(self) -> bool:
        return self.trust_store is None or self.local != self.live

    @property
    def empty(self) -> bool:
        return not self.changes_bundle and not self.crls


def plan(account: Account, local: TrustStore, bundle: S3Object, *, trust_store: str | None = None,
         create: str | None = None, crl_files: Iterable[tuple[str, bytes]] = (),
         replace_crls: bool = False, tags: dict[str, str] | None = None) -> Plan:
    """Compare ``local`` with the live trust store (or plan to create one named ``create``).

    CRL files are uploaded next to the bundle, under their own names."""
    crls = tuple((path, data, S3Object(bundle.bucket, _beside(bundle.key, Path(path).name)))
                 for path, data in crl_files)
    names = [target.key for _, _, target in crls]
    if len(set(names)) != len(names) or bundle.key in names:
        raise AwsError("two files would be uploaded to the same S3 key",
                       "give the CRL files different names from each other and the bundle")
    if create is not None:
        validate_name(create)
        existing = account.trust_stores()
        if any(t.name == create for t in existing):
            raise AwsError(f"a trust store named {create} already exists in {account.region}",
                           f"update it with `mtls-doctor aws push BUNDLE --trust-store {create}`")
        return Plan(create, None, bundle, certificates(local), (), crls,
                    tags=tuple((tags or {}).items()), trust_stores_in_region=len(existing))
    assert trust_store is not None
    info = account.trust_store(trust_store)
    live = _live_certificates(account, info)
    old = tuple(i for i, _ in account.revocations(info.arn)) if replace_crls and crls else ()
    return Plan(info.name, info, bundle, certificates(local), live, crls, old,
                tuple(account.listeners(info.arn)))


def _beside(key: str, name: str) -> str:
    parent = PurePosixPath(key).parent
    return name if str(parent) == "." else f"{parent}/{name}"


@dataclass
class Outcome:
    """What :func:`apply` did."""

    trust_store: TrustStoreInfo | None = None
    bundle_version: str | None = None
    added_revocations: list[int] = field(default_factory=list)


def apply(account: Account, chosen: Plan, bundle: bytes, report: Report, *, timeout: float,
          interval: float, progress: Progress = lambda _: None) -> Outcome:
    """Carry out ``chosen``: every step is reported through ``progress``; a failed step raises
    :class:`AwsError` saying what was done and in what state the live trust store is."""
    done = Outcome(chosen.trust_store)
    if chosen.changes_bundle:
        done.bundle_version = account.upload(chosen.bundle, bundle)
        progress(f"uploaded the bundle to {chosen.bundle}"
                 + (f" (version {done.bundle_version})" if done.bundle_version else ""))
        try:
            if chosen.trust_store is None:
                done.trust_store = account.create(chosen.name, chosen.bundle,
                                                  done.bundle_version, dict(chosen.tags))
                progress(f"created {chosen.name}: {done.trust_store.arn}")
            else:
                account.modify(chosen.trust_store.arn, chosen.bundle, done.bundle_version)
                progress(f"ModifyTrustStore accepted for {chosen.name}")
        except AwsError as exc:
            raise _half_done(account, chosen, exc, report) from None
        assert done.trust_store is not None
        account.wait_active(done.trust_store.arn, timeout=timeout, interval=interval,
                            progress=lambda s: progress(f"waiting for ACTIVE ({s:.0f} s)"))
        _confirm(account, done.trust_store, chosen.local)
        progress(f"{chosen.name} is ACTIVE and serves the {len(chosen.local)} certificate(s) "
                 "uploaded")
    assert done.trust_store is not None
    if chosen.crls:
        uploaded = []
        for path, data, target in chosen.crls:
            version = account.upload(target, data)
            uploaded.append((target, version))
            progress(f"uploaded {path} to {target}")
        try:
            done.added_revocations = account.add_revocations(done.trust_store.arn, uploaded)
        except AwsError as exc:
            exc.message += ("; the CRLs are in S3 but were not added, and the trust store's "
                            "revocations are unchanged")
            raise
        progress("added revocation(s) " + ", ".join(map(str, done.added_revocations)))
        if chosen.replaced_revocations:
            account.remove_revocations(done.trust_store.arn, list(chosen.replaced_revocations))
            progress("removed the old revocation(s) "
                     + ", ".join(map(str, chosen.replaced_revocations)))
    return done


def _live_certificates(account: Account, info: TrustStoreInfo) -> tuple[Certificate, ...]:
    """The certificates the live bundle holds, downloaded now."""
    return certificates(load_trust_store((f"{info.name} (live)", account.bundle(info.arn))))


def _confirm(account: Account, info: TrustStoreInfo, expected: tuple[Certificate, ...]) -> None:
    live = _live_certificates(account, info)
    if live != expected:
        raise AwsError(f"{info.name} is ACTIVE, but its bundle is not the one uploaded "
                       f"({len(live)} certificate(s) live, {len(expected)} uploaded)",
                       "someone may have changed it meanwhile; inspect it with `mtls-doctor "
                       f"aws inspect --trust-store {info.name}`")


def _half_done(account: Account, chosen: Plan, error: AwsError, report: Report) -> AwsError:
    """The error of a failed create/modify, saying that the bundle is in S3 and how the live
    trust store stands (downloaded again to be sure)."""
    message = f"{error.message}. The bundle was uploaded to {chosen.bundle}, but "
    if chosen.trust_store is None:
        message += "no trust store was created"
    else:
        try:
            live = _live_certificates(account, chosen.trust_store)
            state = ("is unchanged (checked: it still serves the same "
                     f"{len(live)} certificate(s))" if live == chosen.live
                     else "now differs from what it was before; inspect it")
        except AwsError:
            state = "could not be downloaded to confirm it is unchanged"
        message += f"the live trust store {chosen.name} {state}"
    fix = error.fix
    if error.code == "InvalidCaCertificatesBundle":
        errors = [f for f in report.findings if f.severity is Severity.ERROR]
        fix = ("`mtls-doctor check` finds " + (
            "; ".join(f"{f.rule}" + (f" on certificate {f.certificate}" if f.certificate else "")
                      for f in errors[:5]) if errors else
            "no error in this bundle, so AWS refuses something it does not model; please "
            "report it"))
    return AwsError(message, fix, error.code)
