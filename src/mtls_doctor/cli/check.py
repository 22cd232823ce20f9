"""mtls-doctor check"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from mtls_doctor.cli.options import (
    at_option,
    crl_option,
    emit,
    fail_on_option,
    guard_output,
    ignore_option,
    load_and_check,
    profile_option,
    quota_option,
    text_width,
    use_color,
    warn_days_option,
)

if TYPE_CHECKING:
    from mtls_doctor.rules import Severity


@click.command("check")
@click.argument("bundle", metavar="BUNDLE")
@crl_option
@profile_option
@at_option
@warn_days_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True, help="Report format.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (default: "
              "standard output).")
@fail_on_option
@ignore_option
@quota_option
def command(bundle: str, crls: tuple[str, ...], profile: str, at: datetime | None,
            warn_days: int, fmt: str, output: str | None, fail_on: Severity | None,
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

    guard_output(output, [bundle, *crls])
    report = load_and_check(bundle, crls, profile=profile, at=at, quotas=quotas,
                            warn_days=warn_days, ignore=ignore)
    options = RenderOptions(color=use_color(output), width=text_width(output))
    emit(renderer(Format(fmt))(report, options), output)
    return 1 if report.fails(fail_on) else 0
