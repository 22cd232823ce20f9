"""mtls-doctor aws"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mtls_doctor.cli.options import (
    at_option,
    crl_option,
    emit,
    fail_on_option,
    ignore_option,
    load_and_check,
    quota_option,
    text_width,
    use_color,
    warn_days_option,
    write_atomic,
)
from mtls_doctor.errors import UsageError

if TYPE_CHECKING:
    from mtls_doctor.aws import Account
    from mtls_doctor.check import Report
    from mtls_doctor.live import Inspection, Plan
    from mtls_doctor.rules import Severity

F = TypeVar("F", bound=Callable[..., Any])


@click.group("aws")
def command() -> None:
    """Inspect and repair the trust stores of your AWS account (needs the aws extra:
    pip install 'mtls-doctor[aws]').

    Credentials come from boto3's standard chain (environment, ~/.aws, SSO, instance role).
    See 'Use with your AWS account' in the README for the IAM permissions each command needs.
    """


def aws_options(function: F) -> F:
    """--profile, --region and --endpoint-url, on every aws subcommand."""
    for option in reversed([
        click.option("--profile", "aws_profile", metavar="NAME",
                     help="AWS profile (default: boto3's, e.g. AWS_PROFILE)."),
        click.option("--region", metavar="REGION", help="AWS Region (default: boto3's, e.g. "
                     "AWS_DEFAULT_REGION)."),
        click.option("--endpoint-url", metavar="URL", help="Send the calls to this endpoint "
                     "instead of AWS's (AWS_ENDPOINT_URL is honoured too)."),
    ]):
        function = option(function)
    return function


def check_options(function: F) -> F:
    """How the live bundles are checked: as `mtls-doctor check` does."""
    for option in reversed([
        click.option("--lb-type", type=click.Choice(["alb", "nlb"]), default="alb",
                     show_default=True, help="Load balancer type the bundle is checked for "
                     "(`check --profile`)."),
        quota_option,
    ]):
        function = option(function)
    return function


def _connect(aws_profile: str | None, region: str | None, endpoint_url: str | None) -> Account:
    from mtls_doctor.aws import connect

    return connect(aws_profile, region, endpoint_url)


def _progress(message: str) -> None:
    click.echo(f"  {message}", err=True)


@command.command("inspect")
@click.option("--trust-store", "selectors", multiple=True, metavar="NAME|ARN",
              help="Only this trust store (repeatable; default: every one in the Region).")
@click.option("--all-regions", is_flag=True, help="Every Region enabled in the account; JSON "
              "output is then a list with one document per Region.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option("--save", metavar="DIR", help="Keep the downloaded files as "
              "DIR/NAME/ca-bundle.pem and DIR/NAME/revocation-ID.crl (DIR/REGION/NAME/... with "
              "--all-regions); never replaces a file.")
@at_option
@warn_days_option
@fail_on_option
@ignore_option
@check_options
@aws_options
def inspect_command(selectors: tuple[str, ...], all_regions: bool, fmt: str,
                    output: str | None, save: str | None, at: datetime | None, warn_days: int,
                    fail_on: Severity | None, ignore: tuple[str, ...], lb_type: str,
                    quotas: dict[str, int], aws_profile: str | None, region: str | None,
                    endpoint_url: str | None) -> int:
    """Check the trust stores the load balancers hold.

    For each trust store: download its CA bundle and every CRL through AWS's pre-signed links,
    run exactly the checks of `mtls-doctor check`, and list the listeners that use it with their
    mutual TLS mode. The account's use of the trust-store quota is reported per Region.

    \b
    Examples:
      mtls-doctor aws inspect --region eu-west-1
      mtls-doctor aws inspect --trust-store partners --format json -o live.json
      mtls-doctor aws inspect --all-regions --save ./live-trust-stores
    """
    from mtls_doctor.live import inspect, inspect_document
    from mtls_doctor.profiles import PROFILES

    if all_regions and selectors:
        raise UsageError("--trust-store names stores of one Region; it cannot be used with "
                         "--all-regions", "pass --region with --trust-store")
    try:
        profile = PROFILES[lb_type].with_quotas(quotas)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    account = _connect(aws_profile, region, endpoint_url)
    accounts = [account.in_region(r) for r in account.regions()] if all_regions else [account]
    documents, texts, failed = [], [], False
    limit = profile.limit("trust-stores")
    for each in accounts:
        inspections = inspect(each, selectors, profile=profile, at=at, warn_days=warn_days,
                              ignore=ignore)
        used = len(each.trust_stores()) if selectors else len(inspections)
        if save is not None:
            _save(Path(save) / each.region if all_regions else Path(save), inspections)
        failed |= any(i.report.fails(fail_on) for i in inspections)
        documents.append(inspect_document(each.region, used, limit, inspections))
        texts.append(_inspect_text(each.region, used, limit, inspections, output))
    if fmt == "json":
        data = documents if all_regions else documents[0]
        emit(json.dumps(data, indent=2, ensure_ascii=False) + "\n", output)
    else:
        emit("".join(texts), output)
    return 1 if failed else 0


def _save(folder: Path, inspections: list[Inspection]) -> None:
    for inspection in inspections:
        for name, data in inspection.files:
            write_atomic(str(folder / name), data, force=False)


def _inspect_text(region: str, used: int, limit: int, inspections: list[Inspection],
                  output: str | None) -> str:
    from mtls_doctor.report import RenderOptions
    from mtls_doctor.report.text import render, safe

    options = RenderOptions(color=use_color(output), width=text_width(output))
    parts = []
    for i in inspections:
        info = i.info
        lines = [f"== {safe(info.name)} ({info.status}) {info.arn}",
                 f"   {info.number_of_ca_certificates} CA certificate(s), "
                 f"{len(i.revocations)} revocation list(s), {info.total_revoked_entries:,} "
                 "revoked entries"]
        lines += [f"   listener {x.listener_arn}: port {x.port}, mode {x.mode}, ignore client "
                  f"certificate expiry {_on(x.ignore_client_certificate_expiry)}, advertise CA "
                  f"names {x.advertise_trust_store_ca_names or 'off'}" for x in i.listeners]
        if not i.listeners:
            lines.append("   no listener uses it")
        parts.append("\n".join(lines) + "\n" + render(i.report, options) + "\n")
    if not inspections:
        parts.append(f"No trust store in {region}.\n")
    parts.append(f"{region}: {used} of {limit} trust stores used (quota trust-stores; raise "
                 "it with --quota if AWS raised yours)\n")
    return "".join(parts)


def _on(value: bool | None) -> str:
    return "on" if value else "off"


def change_options(function: F) -> F:
    """What push and create share: the S3 target, CRLs and the safety switches."""
    for option in reversed([
        click.option("--s3", "s3_uri", required=True, metavar="s3://BUCKET/KEY",
                     help="Where the bundle is uploaded; CRLs go beside it under their file "
                     "names. A versioned bucket lets the trust store pin the exact version."),
        crl_option,
        click.option("--force", is_flag=True, help="Go on even when `check` finds errors "
                     "(the API will probably refuse the bundle)."),
        click.option("--yes", is_flag=True, help="Carry the plan out. Without it the plan is "
                     "shown and nothing changes."),
        click.option("--timeout", type=click.FloatRange(min=0), default=600, show_default=True,
                     metavar="SECONDS", help="How long to wait for the trust store to become "
                     "ACTIVE."),
        click.option("--poll-interval", type=click.FloatRange(min=0), default=5,
                     show_default=True, metavar="SECONDS", help="Time between status checks."),
    ]):
        function = option(function)
    return function


@command.command("push")
@click.argument("bundle", metavar="BUNDLE")
@click.option("--trust-store", "trust_store", required=True, metavar="NAME|ARN",
              help="The trust store to update.")
@click.option("--replace-crls", is_flag=True, help="Remove the trust store's old revocation "
              "lists, once the new ones (--crl) are in.")
@change_options
@check_options
@aws_options
def push_command(bundle: str, trust_store: str, replace_crls: bool, s3_uri: str,
                 crls: tuple[str, ...], force: bool, yes: bool, timeout: float,
                 poll_interval: float, lb_type: str, quotas: dict[str, int],
                 aws_profile: str | None, region: str | None,
                 endpoint_url: str | None) -> int:
    """Replace a live trust store's CA bundle (and add CRLs), safely.

    Runs `check` first and refuses a bundle with errors unless --force; shows the plan
    (certificates added and removed, by subject and fingerprint, against the live bundle);
    with --yes uploads to S3, calls ModifyTrustStore with the object version, waits until the
    trust store is ACTIVE, then downloads the live bundle and confirms it matches. If a step
    fails, it says what was done and in what state the live trust store is.

    \b
    Examples:
      mtls-doctor aws push bundle.pem --trust-store partners --s3 s3://my-bucket/partners.pem
      mtls-doctor aws push bundle.pem --trust-store partners --s3 s3://b/partners.pem \\
        --crl ca.crl --replace-crls --yes
    """
    from mtls_doctor.live import plan

    if replace_crls and not crls:
        raise UsageError("--replace-crls needs the new CRLs", "pass them with --crl FILE")
    return _change(bundle, crls, s3_uri, force, yes, timeout, poll_interval, lb_type, quotas,
                   aws_profile, region, endpoint_url,
                   lambda account, store, target, files: plan(
                       account, store, target, trust_store=trust_store, crl_files=files,
                       replace_crls=replace_crls))


@command.command("create")
@click.argument("name")
@click.argument("bundle", metavar="BUNDLE")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag for the new "
              "trust store (repeatable).")
@change_options
@check_options
@aws_options
def create_command(name: str, bundle: str, tags: tuple[str, ...], s3_uri: str,
                   crls: tuple[str, ...], force: bool, yes: bool, timeout: float,
                   poll_interval: float, lb_type: str, quotas: dict[str, int],
                   aws_profile: str | None, region: str | None,
                   endpoint_url: str | None) -> int:
    """Create a trust store from a bundle, with the same safety steps as push.

    NAME is 1 to 32 letters, digits and single hyphens (checked before any call).

    \b
    Example:
      mtls-doctor aws create partners bundle.pem --s3 s3://my-bucket/partners.pem --yes
    """
    from mtls_doctor.live import plan

    tag_map = {}
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"{tag!r} is not KEY=VALUE")
        tag_map[key] = value
    return _change(bundle, crls, s3_uri, force, yes, timeout, poll_interval, lb_type, quotas,
                   aws_profile, region, endpoint_url,
                   lambda account, store, target, files: plan(
                       account, store, target, create=name, crl_files=files, tags=tag_map))


def _change(bundle: str, crls: tuple[str, ...], s3_uri: str, force: bool, yes: bool,
            timeout: float, poll_interval: float, lb_type: str, quotas: dict[str, int],
            aws_profile: str | None, region: str | None, endpoint_url: str | None,
            planner: Callable[..., Plan]) -> int:
    """Check, plan, show, and (with --yes) apply: what push and create share."""
    from mtls_doctor.aws import AwsError, S3Object
    from mtls_doctor.live import apply
    from mtls_doctor.truststore import MAX_BUNDLE_BYTES, MAX_CRL_BYTES, read_input

    target = S3Object.parse(s3_uri)
    if "-" in crls:
        raise UsageError("CRLs are uploaded under their file names; give files, not '-'")
    bundle_file = read_input(bundle, MAX_BUNDLE_BYTES, "Bundle")
    crl_files = [read_input(c, MAX_CRL_BYTES, "CRL file") for c in crls]
    report = load_and_check(bundle_file, crl_files, profile=lb_type, at=None, quotas=quotas)
    click.echo(_check_summary(report))
    if not report.accepted and not force:
        click.echo("Refusing: the API would reject these files. Fix them (`mtls-doctor fix`), "
                   "or pass --force to try anyway.", err=True)
        return 1
    account = _connect(aws_profile, region, endpoint_url)
    chosen = planner(account, report.store, target, crl_files)
    click.echo(_plan_text(chosen, account.region))
    used, limit = chosen.trust_stores_in_region, report.profile.limit("trust-stores")
    if used is not None and used >= limit:
        raise AwsError(f"{account.region} already has {used} trust stores, the quota is {limit}",
                       "delete an unused one, or pass --quota trust-stores=N if AWS raised "
                       "your quota")
    if chosen.empty:
        click.echo("Nothing to do: the live trust store already has this bundle.")
        return 0
    if not yes:
        click.echo("Nothing was changed. Pass --yes to carry this plan out.")
        return 0
    done = apply(account, chosen, bundle_file[1], report, timeout=timeout,
                 interval=poll_interval, progress=_progress)
    assert done.trust_store is not None
    click.echo(f"Done: {done.trust_store.name} ({done.trust_store.arn}) is ACTIVE.")
    return 0


def _check_summary(report: Report) -> str:
    from mtls_doctor.rules import Severity

    lines = [f"check {report.store.bundle}: "
             f"{'accepted' if report.accepted else 'the API would reject it'}, "
             f"{report.count(Severity.ERROR)} error(s), {report.count(Severity.WARNING)} "
             "warning(s)"]
    for finding in report.shown:
        if finding.severity in (Severity.ERROR, Severity.WARNING):
            where = f" certificate {finding.certificate}" if finding.certificate else ""
            where += f" CRL {finding.crl}" if finding.crl else ""
            lines.append(f"  {finding.severity.value} {finding.rule}{where}: {finding.message}")
    return "\n".join(lines)


def _plan_text(chosen: Plan, region: str) -> str:
    from mtls_doctor.report.text import safe

    if chosen.trust_store is None:
        lines = [f"Plan: create trust store {chosen.name} in {region} (it has "
                 f"{chosen.trust_stores_in_region} now)"]
    else:
        lines = [f"Plan: update trust store {chosen.name} ({chosen.trust_store.arn})"]
    if chosen.changes_bundle:
        lines.append(f"  upload the bundle to {chosen.bundle}, then "
                     + ("CreateTrustStore" if chosen.trust_store is None else "ModifyTrustStore")
                     + " and wait until ACTIVE")
        lines += [f"  + {safe(c.subject)}  sha256 {c.sha256}" for c in chosen.added]
        lines += [f"  - {safe(c.subject)}  sha256 {c.sha256}" for c in chosen.removed]
        kept = len(chosen.local) - len(chosen.added)
        if chosen.trust_store is not None:
            lines.append(f"  = {kept} certificate(s) unchanged"
                         + ("" if chosen.added or chosen.removed else " (only their order or "
                            "the file's layout changes)"))
    else:
        lines.append("  the bundle is unchanged")
    for path, _, where in chosen.crls:
        lines.append(f"  upload CRL {path} to {where}, then AddTrustStoreRevocations")
    if chosen.replaced_revocations:
        lines.append("  then remove the old revocation(s) "
                     + ", ".join(map(str, chosen.replaced_revocations)))
    for x in chosen.listeners:
        lines.append(f"  in use by listener {x.listener_arn} (port {x.port}, mode {x.mode})")
    return "\n".join(lines)

