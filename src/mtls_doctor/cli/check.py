"""mtls-doctor check"""

from __future__ import annotations

from datetime import datetime

import click

from mtls_doctor.cli.options import (
    at_option,
    check_rule_ids,
    crl_option,
    emit,
    guard_output,
    load_and_check,
    profile_option,
    quota_option,
    text_width,
    use_color,
)

FAIL_ON = {"error": "error", "warning": "warning", "info": "info", "never": None}


@click.command("check")
@click.argument("bundle", metavar="BUNDLE")
@crl_option
@profile_option
@at_option
@click.option("--warn-days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Warn about CA certificates that expire within this many days.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True, help="Report format.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (default: "
              "standard output).")
@click.option("--fail-on", type=click.Choice(list(FAIL_ON)), default="error", show_default=True,
              help="Exit 1 when a finding is at least this severe.")
@click.option("--ignore", multiple=True, metavar="RULE", callback=check_rule_ids,
              help="Leave this rule's findings out (repeatable). `accepted` still counts them.")
@quota_option
def command(bundle: str, crls: tuple[str, ...], profile: str, at: datetime | None,
            warn_days: int, fmt: str, output: str | None, fail_on: str,
            ignore: tuple[str, ...], quotas: dict[str, int]) -> int:
    """Lint a trust store as the load balancer sees it.

    BUNDLE is the PEM CA bundle you upload to S3 ('-' reads standard input). Every certificate is
    checked against the documented requirements and quotas; findings say what the API would
    refuse (error), what makes clients fail later (warning), and what is worth knowing (info).
    Each finding's basis is 'documented' (AWS says so) or 'inferred' (from s2n-tls / AWS-LC,
    the TLS library the load balancer is built on).

    \b
    Examples:
      mtls-doctor check bundle.pem
      mtls-doctor check bundle.pem --crl ca.crl --format json -o report.json
      mtls-doctor check bundle.pem --format sarif -o mtls.sarif --fail-on warning
    """
    from mtls_doctor.report import Format, RenderOptions, renderer
    from mtls_doctor.rules import Severity

    guard_output(output, [bundle, *crls])
    report = load_and_check(bundle, crls, profile=profile, at=at, quotas=quotas,
                            warn_days=warn_days, ignore=ignore)
    options = RenderOptions(color=use_color(output), width=text_width(output))
    emit(renderer(Format(fmt))(report, options), output)
    threshold = FAIL_ON[fail_on]
    return 1 if report.fails(Severity(threshold) if threshold else None) else 0
