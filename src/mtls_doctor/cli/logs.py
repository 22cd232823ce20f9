"""mtls-doctor logs"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from mtls_doctor.cli.options import emit, parse_time, text_width, use_color


@click.group("logs")
def command() -> None:
    """Analyse connection logs: who fails, why, and since when."""


@command.command("summarize")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--since", callback=parse_time, metavar="TIME", help="Only connections at or "
              "after this ISO 8601 time.")
@click.option("--until", callback=parse_time, metavar="TIME", help="Only connections before "
              "this time.")
@click.option("--status", metavar="TEXT", help="Only this tls_verify_status (Success, -, "
              "Failed:ClientCertExpired, or just the code).")
@click.option("--client-ip", metavar="IP", help="Only connections from this client.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many failing subjects and clients to list.")
@click.option("--show-malformed", is_flag=True, help="Print the lines that are not entries.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("-o", "--output", metavar="FILE", help="Write the summary to FILE.")
def summarize_command(paths: tuple[str, ...], since: datetime | None, until: datetime | None,
                      status: str | None, client_ip: str | None, top: int,
                      show_malformed: bool, fmt: str, output: str | None) -> int:
    """Summarize connection logs: counts per tls_verify_status, the failing subjects and
    clients, failures per hour.

    PATH is a .log.gz or .log file, or a folder searched recursively in the AWS layout
    (AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/conn_log_*.log.gz); access
    logs in the same folders are skipped and counted. Subjects with spaces, commas and quotes
    are read whole. Lines that are not entries are counted as malformed_lines, never dropped;
    a damaged gzip file is named, and the entries before the damage are kept.

    \b
    Example:
      mtls-doctor logs summarize AWSLogs/ --since 2026-01-31T00:00:00Z --format json
    """
    from mtls_doctor.logs.files import find_logs
    from mtls_doctor.logs.reader import load_logs
    from mtls_doctor.logs.summary import Filters, summarize

    logs = load_logs(find_logs(list(paths)))
    summary = summarize(logs, Filters(since, until, status, client_ip), top)
    if fmt == "json":
        emit(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", output)
    else:
        emit(_text(summary, use_color(output), text_width(output)), output)
    if show_malformed:
        for bad in logs.malformed:
            where = f"{bad.file}:{bad.line}" if bad.line else bad.file
            click.echo(f"malformed {where}: {bad.text!r}", err=True)
    for damaged in summary["damaged_files"]:
        click.echo(f"damaged: {damaged['file']}: {damaged['error']}", err=True)
    return 0


def _text(summary: dict[str, Any], color: bool, width: int) -> str:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from mtls_doctor.report import RenderOptions
    from mtls_doctor.report.text import printed, safe

    head = Text(f"{summary['connections']:,} connections in {summary['files']} file(s) "
                f"({summary['skipped_files']} other files skipped, "
                f"{summary['malformed_lines']} malformed lines), {summary['failures']:,} failed; "
                f"{summary['first_seen'] or '-'} .. {summary['last_seen'] or '-'}", style="bold")
    statuses = Table("tls_verify_status", "connections", header_style="bold")
    for status, count in summary["by_status"].items():
        statuses.add_row(Text(safe(str(status))), f"{count:,}")
    parts: list[Any] = [head, statuses]
    for key, title in (("subject", "Top failing subjects"), ("client_ip", "Top failing clients")):
        table = Table(key, "failures", "statuses", title=title, header_style="bold")
        for row in summary[f"top_failing_{'subjects' if key == 'subject' else 'clients'}"]:
            table.add_row(Text(safe(str(row[key]))), f"{row['count']:,}",
                          Text(", ".join(f"{s} {n}" for s, n in row["statuses"].items())))
        parts.append(table)
    hours = Table("hour", "connections", "failures", title="By hour", header_style="bold")
    for row in summary["by_hour"]:
        hours.add_row(row["hour"], f"{row['total']:,}", f"{row['failures']:,}")
    parts.append(hours)
    return printed(Group(*parts), RenderOptions(color=color, width=width))
