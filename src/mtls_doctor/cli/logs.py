"""mtls-doctor logs"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from mtls_doctor.cli.options import emit, parse_time, text_width, use_color
from mtls_doctor.errors import UsageError

if TYPE_CHECKING:
    from mtls_doctor.logs.reader import LoadedLogs


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
@click.option("--subject", metavar="TEXT", help="Only client certificates whose subject "
              "contains TEXT.")
@click.option("--listener-port", type=int, metavar="PORT", help="Only this listener port.")
@click.option("--elb", metavar="ID", help="Only this load balancer (app/name/id).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many failing subjects and clients to list.")
@click.option("--trust-store", "trust_store", metavar="BUNDLE", help="Explain the failures "
              "about the trust store with this bundle (and --crl files).")
@click.option("--crl", "crls", multiple=True, metavar="FILE", help="A CRL of the trust store "
              "(repeatable), with --trust-store.")
@click.option("--show-malformed", is_flag=True, help="Print the lines that are not entries.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="Output format: html is one self-contained page with "
              "charts.")
@click.option("-o", "--output", metavar="FILE", help="Write the summary to FILE.")
def summarize_command(paths: tuple[str, ...], since: datetime | None, until: datetime | None,
                      status: str | None, client_ip: str | None, subject: str | None,
                      listener_port: int | None, elb: str | None, top: int,
                      trust_store: str | None, crls: tuple[str, ...], show_malformed: bool,
                      fmt: str, output: str | None) -> int:
    """Summarize connection logs: counts per tls_verify_status, the failing subjects and
    clients, failures per hour.

    PATH is a .log.gz or .log file, or a folder searched recursively in the AWS layout
    (AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/conn_log_*.log.gz); access
    logs in the same folders are skipped and counted. Subjects with spaces, commas and quotes
    are read whole. Lines that are not entries are counted as malformed_lines, never dropped;
    a damaged gzip file is named, and the entries before the damage are kept.

    \b
    Examples:
      mtls-doctor logs summarize AWSLogs/ --since 2026-01-31T00:00:00Z --format json
      mtls-doctor logs summarize s3://my-logs/prefix/ --format html -o report.html
    """
    from mtls_doctor.logs import explain, html
    from mtls_doctor.logs.summary import COLUMNS, Filters, summarize

    filters = Filters(since, until, status, client_ip, subject, listener_port, elb)
    columns = {*COLUMNS, *filters.columns(),
               *(html.COLUMNS if fmt == "html" else ()),
               *(explain.COLUMNS if trust_store is not None else ())}
    logs = _load(paths, columns)
    summary = summarize(logs, filters, top)
    if trust_store is not None:
        from mtls_doctor.check import check_trust_store
        from mtls_doctor.truststore import load_trust_store

        report = check_trust_store(load_trust_store(trust_store, crls))
        summary["explanations"] = explain.explain(logs, report, top)
    if fmt == "json":
        emit(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", output)
    elif fmt == "html":
        emit(html.render_html(logs, summary, filters), output)
    else:
        emit(_text(summary, use_color(output), text_width(output)), output)
    if show_malformed:
        for bad in logs.malformed:
            where = f"{bad.file}:{bad.line}" if bad.line else bad.file
            click.echo(f"malformed {where}: {bad.text!r}", err=True)
        hidden = logs.malformed_count - len(logs.malformed)
        if hidden:
            click.echo(f"... and {hidden:,} more malformed lines not shown", err=True)
    for damaged in summary["damaged_files"]:
        click.echo(f"damaged: {damaged['file']}: {damaged['error']}", err=True)
    return 0


def _load(paths: tuple[str, ...], columns: Iterable[str] | None = None) -> LoadedLogs:
    """Find and read the logs (only ``columns`` of them, when given); S3 downloads show their
    progress on a terminal."""
    import sys

    from mtls_doctor.logs.files import find_logs
    from mtls_doctor.logs.reader import load_logs

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rdownloading {done}/{total}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    logs = load_logs(find_logs(list(paths), progress=progress), columns=columns)
    click.get_current_context().call_on_close(logs.close)  # its temporary folder goes too
    return logs


paths_argument = click.argument("paths", nargs=-1, required=True, metavar="PATH...")


def _canned_help() -> str:
    from mtls_doctor.logs.queries import DESCRIPTIONS

    return "; ".join(f"{name}: {text}" for name, text in DESCRIPTIONS.items())


def _rows(names: list[str], rows: list[tuple[Any, ...]], fmt: str, output: str | None) -> None:
    """Query results as a table, or JSON records."""
    if fmt == "json":
        records = [dict(zip(names, row, strict=True)) for row in rows]
        emit(json.dumps(records, indent=2, default=str, ensure_ascii=False) + "\n", output)
        return
    from rich.table import Table

    from mtls_doctor.report import RenderOptions
    from mtls_doctor.report.text import printed, safe

    table = Table(*names, header_style="bold")
    for row in rows:
        table.add_row(*(safe("" if v is None else str(v)) for v in row))
    emit(printed(table, RenderOptions(color=use_color(output), width=text_width(output))),
         output)


format_option = click.option("--format", "fmt", type=click.Choice(["text", "json"]),
                             default="text", show_default=True, help="Output format.")
output_option = click.option("-o", "--output", metavar="FILE", help="Write the result to FILE.")


@command.command("query")
@click.argument("sql")
@paths_argument
@format_option
@output_option
def query_command(sql: str, paths: tuple[str, ...], fmt: str, output: str | None) -> int:
    """Run SQL (DuckDB), or a canned query by name, over the logs.

    SQL reads the `connections` table: time, client_ip, client_port, listener_port,
    tls_protocol, tls_cipher, tls_handshake_latency, subject, not_before, not_after, serial,
    tls_verify_status, status, failure_code, conn_trace_id, tls_keyexchange, elb, ip_address,
    file. The canned queries (the same ones `logs athena run` sends to Athena) read the
    `alb_connection_logs` view of the Athena table's shape.

    \b
    Example:
      mtls-doctor logs query "SELECT failure_code, count(*) FROM connections
        WHERE status = 'Failed' GROUP BY 1 ORDER BY 2 DESC" AWSLogs/
      mtls-doctor logs query top_failing_clients AWSLogs/
    """
    import duckdb

    from mtls_doctor.logs.queries import CANNED, duckdb_view

    logs = _load(paths)
    if sql in CANNED:
        duckdb_view(logs.database)
        sql = CANNED[sql]
    try:
        cursor = logs.database.execute(sql)
        names = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise UsageError(f"the query failed: {str(exc).splitlines()[0]}") from None
    _rows(names, rows, fmt, output)
    return 0


@command.command("athena-ddl")
@click.option("--location", required=True, metavar="S3URI", help="s3://BUCKET[/PREFIX]/AWSLogs/"
              "ACCOUNT/elasticloadbalancing/REGION")
@click.option("--table", default="alb_connection_logs", show_default=True, help="Table name.")
@click.option("--projection-start", default="2023/01/01", show_default=True,
              metavar="YYYY/MM/DD", help="First day of the partition projection.")
def athena_ddl_command(location: str, table: str, projection_start: str) -> int:
    """Print the Athena CREATE TABLE for connection logs (all 15 columns, 12-field lines read
    too, partition projection by day), then the canned troubleshooting queries as Athena SQL."""
    from mtls_doctor.logs.athena import athena_ddl
    from mtls_doctor.logs.queries import CANNED, DESCRIPTIONS, scoped

    try:
        ddl = athena_ddl(location, table=table, projection_start=projection_start)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    click.echo(ddl.rstrip().rstrip(";") + ";\n")
    for name, sql in CANNED.items():
        click.echo(f"-- {name}: {DESCRIPTIONS[name]}\n{scoped(sql, table=table)};\n")
    return 0


@command.group("athena")
def athena_group() -> None:
    """Ask Athena the same questions, when the logs outgrow one machine."""


@athena_group.command("run")
@click.argument("query", metavar="QUERY")
@click.option("--database", required=True, help="The Athena database holding the table.")
@click.option("--workgroup", help="Athena workgroup.")
@click.option("--output", "result_location", metavar="S3URI", help="Query result location "
              "(unless the workgroup sets one).")
@click.option("--table", default="alb_connection_logs", show_default=True, help="Table name.")
@click.option("--since", metavar="YYYY/MM/DD", help="Scan only day partitions from this day.")
@click.option("--timeout", type=click.IntRange(min=1), default=600, show_default=True,
              help="Seconds to wait for the query.")
@format_option
@output_option
def athena_run_command(query: str, database: str, workgroup: str | None,
                       result_location: str | None, table: str, since: str | None,
                       timeout: int, fmt: str, output: str | None) -> int:
    """Run a canned query (by name) or SQL on Athena and print the rows.

    The table is the one `logs athena-ddl` creates. Needs boto3 (pip install
    'mtls-doctor[aws]') and AWS credentials.
    """
    from mtls_doctor.logs.athena import run_query
    from mtls_doctor.logs.queries import CANNED, scoped

    try:
        sql = scoped(CANNED[query], table=table, since=since) if query in CANNED else query
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    records = run_query(sql, database=database, workgroup=workgroup, output=result_location,
                        timeout=timeout)
    names = list(records[0]) if records else []
    _rows(names, [tuple(r.values()) for r in records], fmt, output)
    return 0


@command.command("to-parquet")
@click.argument("out", metavar="OUT")
@paths_argument
@click.option("--force", is_flag=True, help="Add to (or replace files in) an existing OUT.")
def to_parquet_command(out: str, paths: tuple[str, ...], force: bool) -> int:
    """Copy the logs to Parquet in OUT, one folder per day (day=YYYY-MM-DD), for repeated
    analysis: `logs query` and other tools read it far faster than gzip text."""
    from pathlib import Path

    if Path(out).exists() and not force:
        raise UsageError(f"{out} already exists", "pass --force, or choose another folder")
    logs = _load(paths)
    logs.database.execute(
        "COPY (SELECT *, strftime(time, '%Y-%m-%d') AS day FROM connections) TO ? "
        "(FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE)", [out])
    count = logs.database.execute("SELECT count(*) FROM connections").fetchone()
    click.echo(f"wrote {count[0] if count else 0:,} connections to {out}/day=.../")
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
    if "explanations" in summary:
        why = Table("subject", "serial", "status", "count", "what the trust store shows",
                    title="Failures the trust store explains", header_style="bold")
        for row in summary["explanations"]:
            why.add_row(*(Text(safe(str(row[k]))) for k in ("subject", "serial", "status",
                                                            "count", "explanation")))
        parts.append(why)
    hours = Table("hour", "connections", "failures", title="By hour", header_style="bold")
    for row in summary["by_hour"]:
        hours.add_row(row["hour"], f"{row['total']:,}", f"{row['failures']:,}")
    parts.append(hours)
    return printed(Group(*parts), RenderOptions(color=color, width=width))
