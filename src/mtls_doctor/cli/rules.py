"""mtls-doctor rules"""

from __future__ import annotations

import json

import click


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def command(fmt: str) -> int:
    """List every rule: id, severity, basis, and what it checks.

    Severity 'error' means the API refuses the upload; 'warning' means it is accepted but some
    clients will fail; 'info' is worth knowing. Basis 'documented' means AWS documents the
    behaviour; 'inferred' means we model it on s2n-tls / AWS-LC. Use the ids with --ignore.
    Adjustable quotas (raise them with --quota NAME=N) are listed after the rules.
    """
    from mtls_doctor.profiles import TRUST_STORE_QUOTAS
    from mtls_doctor.rules import RULES

    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "severity": r.severity.value, "basis": r.basis.value,
                                "description": r.description, "fix": r.fix,
                                "citation": r.citation} for r in RULES.values()], indent=2))
        return 0
    from rich.console import Group
    from rich.table import Table

    from mtls_doctor.cli.options import text_width, use_color
    from mtls_doctor.report import RenderOptions
    from mtls_doctor.report.text import printed

    table = Table(header_style="bold")
    for column in ("rule", "severity", "basis", "checks that"):
        table.add_column(column, overflow="fold")
    for rule in RULES.values():
        table.add_row(rule.id, rule.severity.value, rule.basis.value, rule.description)
    quotas = Table(header_style="bold", title="Quotas (--quota NAME=N raises an adjustable one)")
    for column in ("quota", "default", "adjustable", "code", "what"):
        quotas.add_column(column, overflow="fold")
    for q in TRUST_STORE_QUOTAS.values():
        quotas.add_row(q.name, f"{q.value:,} {q.unit}", "yes" if q.adjustable else "no",
                       q.code or "-", q.description)
    options = RenderOptions(color=use_color(None), width=text_width(None))
    click.echo(printed(Group(table, quotas), options), nl=False)
    return 0
