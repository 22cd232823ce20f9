"""mtls-doctor fix"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from mtls_doctor.cli.options import (
    at_option,
    check_rule_ids,
    guard_output,
    load_and_check,
    profile_option,
    quota_option,
    write_atomic,
)


@click.command("fix")
@click.argument("bundle", metavar="BUNDLE")
@click.option("-o", "--output", required=True, metavar="OUT",
              help="Where to write the fixed bundle ('-': standard output). Never BUNDLE itself.")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
@click.option("--drop-expired", is_flag=True, help="Also remove expired CA certificates.")
@click.option("--keep", multiple=True, metavar="RULE", callback=check_rule_ids,
              help="Keep certificates whose only blocking findings are of this rule "
              "(repeatable).")
@profile_option
@at_option
@quota_option
def command(bundle: str, output: str, force: bool, drop_expired: bool, keep: tuple[str, ...],
            profile: str, at: datetime | None, quotas: dict[str, int]) -> int:
    """Write a bundle the API accepts, and say what was removed and why.

    Drops every certificate with an upload-blocking (error) finding, and duplicates; drops
    keys, CRLs and other non-certificate blocks; converts DER / PKCS#7 input; rewrites the file
    in the accepted grammar (no blank lines, no stray text) with a '# subject' comment above
    each certificate. BUNDLE is never modified. The result is checked again: exit code 1 when it
    still breaks a quota (raise the quota, or remove certificates), or when nothing is left.

    \b
    Example:
      mtls-doctor fix bundle.pem -o bundle.fixed.pem
    """
    from mtls_doctor.check import check_trust_store
    from mtls_doctor.fix import fix_bundle
    from mtls_doctor.report.text import safe
    from mtls_doctor.rules import Severity
    from mtls_doctor.truststore import load_trust_store

    guard_output(output, [bundle])
    report = load_and_check(bundle, (), profile=profile, at=at, quotas=quotas)
    result = fix_bundle(report, drop_expired=drop_expired, keep=keep)
    say = sys.stderr if output == "-" else sys.stdout

    def line(text: str = "") -> None:
        print(text, file=say)

    for removal in result.removed:
        cert = removal.certificate
        name = safe(cert.facts.subject) if cert.facts else "(unparseable)"
        where = f", line {cert.line}" if cert.line else ""
        line(f"removed #{cert.index}{where}: {name}")
        for finding in removal.reasons or ():
            line(f"    {finding.rule}: {safe(finding.message)}")
        if not removal.reasons:
            line(f"    cannot be parsed: {safe(cert.problem or '')}")
    for dropped in result.dropped_blocks:
        line(f"removed {dropped}")
    if not result.kept:
        line("No certificate is left; nothing written.")
        return 1
    if output == "-":
        sys.stdout.buffer.write(result.data)
        sys.stdout.flush()
    else:
        write_atomic(output, result.data, force=force)
    line(f"wrote {output}: {len(result.kept)} certificate(s), {len(result.removed)} removed.")
    recheck = check_trust_store(load_trust_store(result.data), profile=report.profile, at=at)
    remaining = [f for f in recheck.findings if f.severity is Severity.ERROR]
    for finding in remaining:
        line(f"still refused: {finding.rule}: {safe(finding.message)}")
        line(f"    fix: {finding.fix}")
    return 1 if remaining else 0
