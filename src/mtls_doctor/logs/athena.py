"""Connection logs where they lie, in S3: the Athena table over them, and running a query there.

The table is AWS's (alb-facts.md §6, logs-and-aws-api.md §3.3) with all 15 columns instead of 12:
its regex also reads the 12-field lines of 2023 (the last three columns are then NULL) and
tolerates fields AWS appends later. Partition projection by delivery day means no crawler and no
``MSCK REPAIR``; a query that filters on ``day`` scans only those days.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mtls_doctor.errors import MtlsDoctorError

if TYPE_CHECKING:
    from mtls_doctor.aws import Clients

# Java regex (RegexSerDe, whole-line match) written as it stands inside the DDL's string literal.
# It keeps to a subset Python's ``re`` reads identically, so tests check it with ``re.fullmatch``.
# The subject runs to the last double quote (as the local readers cut it); fields 13-15 are
# optional, and ``( .*)?`` swallows whatever AWS appends after them.
INPUT_REGEX = (
    r'([^ ]*) ([^ ]*) ([0-9]*) ([0-9]*) ([A-Za-z0-9.-]*) ([^ ]*) ([-.0-9]*) \"(.*)\" '
    r"([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*)(?: ([^ ]*))?(?: ([^ ]*))?(?: ([^ ]*))?( .*)?"
)
COLUMNS = (
    ("time", "string"), ("client_ip", "string"), ("client_port", "int"),
    ("listener_port", "int"), ("tls_protocol", "string"), ("tls_cipher", "string"),
    ("tls_handshake_latency", "double"), ("leaf_client_cert_subject", "string"),
    ("leaf_client_cert_validity", "string"), ("leaf_client_cert_serial_number", "string"),
    ("tls_verify_status", "string"), ("conn_trace_id", "string"),
    ("tls_keyexchange", "string"), ("elb", "string"), ("ip_address", "string"),
)
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DDL = """CREATE EXTERNAL TABLE IF NOT EXISTS {table} (
{columns}
)
PARTITIONED BY (day STRING)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
  'serialization.format' = '1',
  'input.regex' = '{regex}'
)
LOCATION '{location}/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.day.type' = 'date',
  'projection.day.range' = '{start},NOW',
  'projection.day.format' = 'yyyy/MM/dd',
  'projection.day.interval' = '1',
  'projection.day.interval.unit' = 'DAYS',
  'storage.location.template' = '{location}/${{day}}'
)"""


def athena_ddl(location: str, *, table: str = "alb_connection_logs",
               projection_start: str = "2023/01/01") -> str:
    """The ``CREATE EXTERNAL TABLE`` statement for the connection logs under ``location``.

    ``location`` is the folder that holds the day folders:
    ``s3://BUCKET[/PREFIX]/AWSLogs/ACCOUNT-ID/elasticloadbalancing/REGION`` (a trailing ``/``
    is dropped). Pointed anywhere else, the projected partitions find no files and every query
    returns nothing. ``projection_start`` (``yyyy/MM/dd``) is the first day partition to project.
    If access logs share the prefix, their lines do not match the regex and come back as all-NULL
    rows, which the canned queries filter out.

    Raises ValueError for a location that is not ``s3://…``, or a bad table name or start day.
    """
    location = location.rstrip("/")
    if not location.startswith("s3://") or len(location) <= len("s3://"):
        raise ValueError(f"the location must be an s3:// URI, not {location!r}")
    if "'" in location or any(c.isspace() for c in location):
        raise ValueError(f"the location cannot hold quotes or spaces: {location!r}")
    if not TABLE_NAME.match(table):
        raise ValueError(f"not a table name: {table!r}")
    try:
        datetime.strptime(projection_start, "%Y/%m/%d")
    except ValueError:
        raise ValueError(f"projection_start must be yyyy/MM/dd, not {projection_start!r}") from None
    columns = ",\n".join(f"  {name} {kind}" for name, kind in COLUMNS)
    return _DDL.format(table=table, columns=columns, regex=INPUT_REGEX, location=location,
                       start=projection_start)


def run_query(sql: str, *, database: str, workgroup: str | None = None,
              output: str | None = None, account: Clients | None = None,
              poll_seconds: float = 1.0, timeout: float = 600) -> list[dict[str, str | None]]:
    """Run ``sql`` in Athena and return its rows, each a dict by column name (NULL is None).

    ``workgroup`` defaults to the account's primary one; ``output`` (``s3://…``) is where Athena
    writes results, needed unless the workgroup sets it. The query is polled every
    ``poll_seconds``; after ``timeout`` seconds it is stopped. ``account`` defaults to boto3's
    credentials and Region. Raises MtlsDoctorError when the query fails, is cancelled or times
    out, or when AWS refuses the call.
    """
    from mtls_doctor.aws import aws_errors, connect

    clients = account or connect()
    with aws_errors("Athena", "check the AWS credentials, Region, database, workgroup and "
                    "output location"):
        client = clients.client("athena")
        request: dict[str, Any] = {"QueryString": sql,
                                   "QueryExecutionContext": {"Database": database}}
        if workgroup:
            request["WorkGroup"] = workgroup
        if output:
            request["ResultConfiguration"] = {"OutputLocation": output}
        query_id: str = client.start_query_execution(**request)["QueryExecutionId"]
        _wait(client, query_id, poll_seconds, timeout)
        return _results(client, query_id)


def _wait(client: Any, query_id: str, poll_seconds: float, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        state = status["State"]
        if state == "SUCCEEDED":
            return
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or "no reason given"
            raise MtlsDoctorError(f"Athena query {query_id} {state.lower()}: {reason}",
                                  fix="check the SQL, and that the table exists in the database")
        if time.monotonic() >= deadline:
            client.stop_query_execution(QueryExecutionId=query_id)
            raise MtlsDoctorError(f"Athena query {query_id} still {state.lower()} after "
                                  f"{timeout:g} s; it was stopped",
                                  fix="filter on the day partition to scan less, or raise the "
                                  "timeout")
        time.sleep(poll_seconds)


def _results(client: Any, query_id: str) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    names: list[str] | None = None
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        data = [[cell.get("VarCharValue") for cell in row.get("Data", [])]
                for row in page["ResultSet"].get("Rows", [])]
        if names is None:
            names = [column["Name"] for column in
                     page["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            if data and data[0] == names:  # a SELECT's first row holds the column names
                data = data[1:]
        rows += [dict(zip(names, values, strict=False)) for values in data]
    return rows
