"""Athena: the table's regex reads every line the local readers read; the query flow against moto
and botocore's Stubber; the canned queries on DuckDB over fixture logs, and parsed as Trino."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from logs_factory import CODES, START, SUBJECTS, entry, lines, write
from mtls_doctor.errors import MtlsDoctorError
from mtls_doctor.logs import athena
from mtls_doctor.logs.athena import COLUMNS, INPUT_REGEX, athena_ddl, run_query
from mtls_doctor.logs.files import find_logs
from mtls_doctor.logs.python_reader import parse_line
from mtls_doctor.logs.queries import CANNED, DESCRIPTIONS, duckdb_view, run_local, scoped
from mtls_doctor.logs.reader import load_logs

LOCATION = "s3://logs-bucket/prefix/AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
ODD = 'CN=a "quoted" and spaced, name,O=Example\\, Inc.,C=US'


def regex_of(ddl: str) -> re.Pattern[str]:
    """The input regex as RegexSerDe gets it: the DDL's string literal, unescaped by the parser."""
    sqlglot = pytest.importorskip("sqlglot")
    created = sqlglot.parse_one(ddl, read="hive")
    value = next(p for p in created.find_all(sqlglot.exp.Property)
                 if p.name == "input.regex").args["value"].this
    return re.compile(value)


# --- the table ---------------------------------------------------------------------------------

def test_ddl_has_the_15_columns_of_aws_and_day_projection() -> None:
    ddl = athena_ddl(LOCATION + "/")
    assert re.findall(r"^  (\w+) (string|int|double),?$", ddl, re.M) == list(COLUMNS)
    assert [name for name, _ in COLUMNS][:12] == [
        "time", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher",
        "tls_handshake_latency", "leaf_client_cert_subject", "leaf_client_cert_validity",
        "leaf_client_cert_serial_number", "tls_verify_status", "conn_trace_id"]
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS alb_connection_logs (" in ddl
    assert "PARTITIONED BY (day STRING)" in ddl
    assert "'org.apache.hadoop.hive.serde2.RegexSerDe'" in ddl
    assert f"LOCATION '{LOCATION}/'" in ddl
    for prop in ("'projection.enabled' = 'true'", "'projection.day.type' = 'date'",
                 "'projection.day.range' = '2023/01/01,NOW'",
                 "'projection.day.format' = 'yyyy/MM/dd'", "'projection.day.interval' = '1'",
                 "'projection.day.interval.unit' = 'DAYS'",
                 f"'storage.location.template' = '{LOCATION}/${{day}}'"):
        assert prop in ddl
    other = athena_ddl(LOCATION, table="conn", projection_start="2025/06/01")
    assert "EXISTS conn (" in other and "'2025/06/01,NOW'" in other


def test_ddl_parses_as_hive_with_every_column() -> None:
    sqlglot = pytest.importorskip("sqlglot")
    created = sqlglot.parse_one(athena_ddl(LOCATION), read="athena")
    names = [c.name for c in created.find_all(sqlglot.exp.ColumnDef)]
    assert names == [*(name for name, _ in COLUMNS), "day"]


@pytest.mark.parametrize(("location", "options"), [
    ("logs-bucket/AWSLogs", {}), ("https://logs-bucket/x", {}), ("s3://", {}),
    ("s3://b/it's", {}), ("s3://b/a b", {}), (LOCATION, {"table": "x; DROP"}),
    (LOCATION, {"projection_start": "2023-01-01"}),
])
def test_ddl_refuses_what_it_cannot_write(location: str, options: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"location|table|projection_start"):
        athena_ddl(location, **options)


def test_regex_keeps_to_what_java_and_python_read_alike() -> None:
    # No escapes beyond \" (no \s, \d: Java and Python agree on [^ ], [0-9]), no named groups,
    # no lookaround, no possessive or atomic groups.
    assert re.findall(r"\\.", INPUT_REGEX) == ['\\"', '\\"']
    assert not re.search(r"\(\?[^:]|[*+?]\+", INPUT_REGEX)
    assert re.compile(INPUT_REGEX).groups == 16  # 15 columns, then the swallowed rest


@pytest.mark.parametrize("fields", [12, 15, 16])
def test_regex_reads_12_15_and_16_field_lines(fields: int) -> None:
    regex = regex_of(athena_ddl(LOCATION))
    line = entry(5, "Failed:ClientCertUntrusted", subject=ODD, fields=fields)
    match = regex.fullmatch(line)
    assert match is not None
    groups = match.groups()
    assert groups[7] == ODD
    assert groups[10] == "Failed:ClientCertUntrusted"
    assert groups[11] == f"TID_{5:032x}"
    if fields == 12:
        assert groups[12:] == (None, None, None, None)
    else:
        assert groups[12:15] == ("X25519", "app/my-lb/50dc6c495c0c9188", "10.0.0.5")
        assert groups[15] == (" -" if fields == 16 else None)


def test_regex_agrees_with_the_python_reader_and_rejects_garbage() -> None:
    regex = regex_of(athena_ddl(LOCATION))
    text, expected = lines(800)
    rejected = 0
    for line in filter(None, text):
        fields, match = parse_line(line), regex.fullmatch(line)
        if fields is None:
            rejected += 1
            assert match is None, line
            continue
        assert match is not None, line
        got = [g.replace('""', '"') if i == 7 else g for i, g in enumerate(match.groups()[:15])]
        assert got == list(fields)
    assert rejected == expected.malformed > 0
    for garbage in ("garbage line", 'half "quoted subject', "a b c d e f g h i j k l",
                    '2026-01-31T12:00:00Z 1.2.3.4 x 443 TLSv1.3 c 0.1 "CN=a" - - Success T'):
        assert regex.fullmatch(garbage) is None


# --- the query flow ----------------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """moto's AWS with fake credentials, whatever the environment holds: no real network."""
    moto = pytest.importorskip("moto")
    pytest.importorskip("boto3")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_ATHENA", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        yield


def queue(*results: list[list[str | None]]) -> None:
    """Queue moto's answers to the next queries: header row first, as Athena sends it."""
    import requests

    def row(values: list[str | None]) -> dict[str, Any]:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    body = {"results": [{"rows": [row(r) for r in rows],
                         "column_info": [{"Name": n, "Type": "varchar"} for n in rows[0]]}
                        for rows in results]}
    response = requests.post("http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
                             json=body, timeout=5)
    assert response.status_code == 201


def test_run_query_returns_rows_by_column_name(aws: None) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket="results")
    boto3.client("athena").create_work_group(Name="mtls", Configuration={})
    queue([["tls_verify_status", "connections"], ["Failed:ClientCertExpired", "3"],
           ["Success", None]])
    rows = run_query(CANNED["failures_by_status"], database="logs", workgroup="mtls",
                     output="s3://results/athena/")
    assert rows == [{"tls_verify_status": "Failed:ClientCertExpired", "connections": "3"},
                    {"tls_verify_status": "Success", "connections": None}]
    client = boto3.client("athena")
    [query_id] = client.list_query_executions(WorkGroup="mtls")["QueryExecutionIds"]
    execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Query"] == CANNED["failures_by_status"]
    assert execution["QueryExecutionContext"]["Database"] == "logs"
    csv = boto3.client("s3").get_object(Bucket="results", Key=f"athena/{query_id}.csv")
    assert b'"Failed:ClientCertExpired","3"' in csv["Body"].read()


def test_run_query_polls_until_the_query_succeeds(aws: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.moto_api import state_manager

    sleeps: list[float] = []
    monkeypatch.setattr(athena.time, "sleep", sleeps.append)
    queue([["n"], ["1"]])
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 2})
    try:
        # moto answers get_query_results with an error until the query has SUCCEEDED
        assert run_query("SELECT 1 AS n", database="logs", workgroup=None, output=None,
                         poll_seconds=0.5) == [{"n": "1"}]
    finally:
        state_manager.unset_transition("athena::execution")
    assert sleeps and set(sleeps) == {0.5}


def test_run_query_stops_a_query_that_outlives_the_timeout(
        aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto.moto_api import state_manager

    monkeypatch.setattr(athena.time, "sleep", lambda _: None)
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1000})
    try:
        with pytest.raises(MtlsDoctorError, match="still queued after 0 s; it was stopped"):
            run_query("SELECT 1", database="logs", workgroup=None, output=None, timeout=0)
    finally:
        state_manager.unset_transition("athena::execution")
    client = boto3.client("athena")
    [query_id] = client.list_query_executions()["QueryExecutionIds"]
    status = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED"


class StubbedSession:
    """A boto3 session whose Athena client answers from botocore's Stubber, checked against the
    real API model: for what moto cannot do (failed queries, several result pages)."""

    def __init__(self, *, started: bool = True) -> None:
        boto3 = pytest.importorskip("boto3")
        from botocore.stub import Stubber

        self.athena = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x",
                                    region_name="us-east-1").client("athena")
        self.stub = Stubber(self.athena)
        if started:
            self.stub.add_response("start_query_execution", {"QueryExecutionId": "q1"}, {
                "QueryString": "SELECT 1", "QueryExecutionContext": {"Database": "logs"}})

    def status(self, state: str, reason: str | None = None) -> StubbedSession:
        status = {"State": state} | ({"StateChangeReason": reason} if reason else {})
        self.stub.add_response("get_query_execution", {"QueryExecution": {"Status": status}},
                               {"QueryExecutionId": "q1"})
        return self

    def client(self, service_name: str) -> Any:
        assert service_name == "athena"
        self.stub.activate()
        return self.athena


@pytest.mark.parametrize(("state", "reason", "message"), [
    ("FAILED", "TABLE_NOT_FOUND: line 1:15: Table awsdatacatalog.logs.x does not exist",
     "q1 failed: TABLE_NOT_FOUND"),
    ("CANCELLED", None, "q1 cancelled: no reason given"),
])
def test_a_failed_query_raises_with_athenas_reason(state: str, reason: str | None,
                                                   message: str) -> None:
    session = StubbedSession().status("QUEUED").status("RUNNING").status(state, reason)
    with pytest.raises(MtlsDoctorError, match=message):
        run_query("SELECT 1", database="logs", workgroup=None, output=None, account=session,
                  poll_seconds=0)
    session.stub.assert_no_pending_responses()


def test_results_are_read_across_pages_and_only_the_first_header_is_skipped() -> None:
    session = StubbedSession().status("SUCCEEDED")
    meta = {"ColumnInfo": [{"Name": "ip", "Type": "varchar"}, {"Name": "n", "Type": "bigint"}]}

    def page(*rows: tuple[str, str], token: str | None = None) -> dict[str, Any]:
        result = {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} for v in r]}
                                         for r in rows], "ResultSetMetadata": meta}}
        return result | ({"NextToken": token} if token else {})

    session.stub.add_response("get_query_results", page(("ip", "n"), ("1.1.1.1", "2"),
                                                        token="t"), {"QueryExecutionId": "q1"})
    # a later page whose row happens to equal the header is data
    session.stub.add_response("get_query_results", page(("ip", "n"), ("2.2.2.2", "1")),
                              {"QueryExecutionId": "q1", "NextToken": "t"})
    rows = run_query("SELECT 1", database="logs", workgroup=None, output=None, account=session)
    assert rows == [{"ip": "1.1.1.1", "n": "2"}, {"ip": "ip", "n": "n"},
                    {"ip": "2.2.2.2", "n": "1"}]


def test_aws_refusals_become_mtls_doctor_errors() -> None:
    session = StubbedSession(started=False)
    session.stub.add_client_error("start_query_execution", "InvalidRequestException",
                                  "No output location provided.")
    with pytest.raises(MtlsDoctorError, match="No output location provided") as caught:
        run_query("SELECT 1", database="logs", workgroup=None, output=None, account=session)
    assert caught.value.fix and "output location" in caught.value.fix


# --- the canned queries ------------------------------------------------------------------------

SLOW = (entry(9001, "Success", subject="CN=slow").replace(" 0.012 ", " 4.250 "),
        entry(9002, "Success", subject=None, fields=12).replace(" 0.012 ", " 2.000 "))
EXPIRED = entry(9003, "Success", subject="CN=stale", client="198.51.100.9").replace(
    "NotAfter=2027-01-01T00:00:00Z", "NotAfter=2026-01-31T12:00:00Z")
HEAVY = tuple(entry(9100 + i, f"Failed:{CODES[i % 3]}", subject=SUBJECTS[1],
                    client="198.51.100.7") for i in range(6))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection,
                                                             list[tuple[str | None, ...]]]:
    """Fixture logs in DuckDB with the view, and every entry as the Python reader cuts it."""
    text, _ = lines(1500)
    text += [*SLOW, EXPIRED, *HEAVY]
    path = write(tmp_path_factory.mktemp("athena") / "conn_log_a.log.gz", text)
    database = load_logs(find_logs([str(path)])).database
    duckdb_view(database)
    entries = [f for f in map(parse_line, filter(None, text)) if f is not None]
    return database, entries


Logs = tuple[duckdb.DuckDBPyConnection, list[tuple[str | None, ...]]]


def failed(entries: list[tuple[str | None, ...]]) -> list[tuple[str | None, ...]]:
    return [f for f in entries if (f[10] or "").startswith("Failed:")]


@pytest.mark.parametrize("name", CANNED)
def test_every_canned_query_runs_on_duckdb(logs: Logs, name: str) -> None:
    database, _ = logs
    assert DESCRIPTIONS[name]
    rows = run_local(database, CANNED[name])
    assert rows
    assert run_local(database, scoped(CANNED[name], since="2026/01/31")) == rows
    assert run_local(database, scoped(CANNED[name], since="2027/01/01")) == []


@pytest.mark.parametrize("name", CANNED)
def test_every_canned_query_parses_as_duckdb_and_trino(name: str) -> None:
    sqlglot = pytest.importorskip("sqlglot")
    for sql in (CANNED[name], scoped(CANNED[name], table="conn", since="2026/01/31")):
        for dialect in ("duckdb", "trino", "athena"):
            assert isinstance(sqlglot.parse_one(sql, read=dialect), sqlglot.exp.Query)
    # What sqlglot lets through but Trino rejects, or what differs between the two engines.
    assert not re.search(r"GROUP BY ALL|EXCLUDE|EXCEPT|FILTER|QUALIFY|quantile|percentile|"
                         r"date_|strftime|strptime|parse_datetime|::", CANNED[name], re.I)


def test_failures_by_status_counts_every_failed_entry(logs: Logs) -> None:
    database, entries = logs
    rows = run_local(database, CANNED["failures_by_status"])
    want = Counter(f[10] for f in failed(entries))
    assert {r["tls_verify_status"]: r["connections"] for r in rows} == want
    assert [r["connections"] for r in rows] == sorted(want.values(), reverse=True)
    assert all(r["failure_code"] == str(r["tls_verify_status"])[7:] for r in rows)
    assert len(want) == len(CODES)


def test_top_failing_clients_are_the_20_with_most_failures(logs: Logs) -> None:
    database, entries = logs
    rows = run_local(database, CANNED["top_failing_clients"])
    want = sorted(Counter(f[1] for f in failed(entries)).items(), key=lambda c: (-c[1], c[0]))
    assert [(r["client_ip"], r["failures"]) for r in rows] == want[:20]
    assert rows[0]["client_ip"] == "198.51.100.7" and rows[0]["statuses"] == 3


def test_top_failing_subjects_unescape_quotes(logs: Logs) -> None:
    database, entries = logs
    rows = run_local(database, CANNED["top_failing_subjects"])
    want = Counter(f[7] for f in failed(entries) if f[7] != "-")
    assert {r["subject"]: r["failures"] for r in rows} == want
    assert 'CN=quoted "nick",O=Example,C=DE' in want


def test_failures_by_hour_cut_time_at_the_hour(logs: Logs) -> None:
    database, entries = logs
    rows = run_local(database, CANNED["failures_by_hour"])
    want = Counter((str(f[0])[:13], f[10]) for f in failed(entries))
    assert {(r["hour_utc"], r["tls_verify_status"]): r["connections"] for r in rows} == want


def test_slow_handshakes_are_2_seconds_or_more(logs: Logs) -> None:
    database, _ = logs
    rows = run_local(database, CANNED["slow_handshakes"])
    assert [(r["conn_trace_id"], r["tls_handshake_latency"]) for r in rows] == [
        (f"TID_{9001:032x}", 4.25), (f"TID_{9002:032x}", 2.0)]
    assert rows[0]["tls_keyexchange"] == "X25519" and rows[1]["tls_keyexchange"] == "-"


def test_expired_client_certs_by_status_and_by_not_after(logs: Logs) -> None:
    database, entries = logs
    rows = run_local(database, CANNED["expired_client_certs"])
    assert sum(int(str(r["connections"])) for r in rows) == 1 + sum(
        f[10] == "Failed:ClientCertExpired" for f in entries)
    seen = (START + timedelta(minutes=9003)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [r for r in rows if r["subject"] == "CN=stale"] == [
        {"subject": "CN=stale", "serial": f"{9004:04X}", "not_after": "2026-01-31T12:00:00Z",
         "connections": 1, "clients": 1, "first_seen": seen, "last_seen": seen}]


def test_status_by_listener_accounts_for_every_entry(logs: Logs) -> None:
    database, entries = logs
    rows = run_local(database, CANNED["status_by_listener"])
    assert sum(int(str(r["connections"])) for r in rows) == len(entries)
    assert {r["listener_port"] for r in rows} == {80, 443}


def test_the_view_gives_back_the_raw_fields_as_athena_reads_them(logs: Logs) -> None:
    """Each view row is what the Athena regex captures from the line (typed as the DDL types
    them), but for 12-field lines, whose missing fields Athena reads as NULL and the view as -."""
    database, entries = logs
    regex = regex_of(athena_ddl(LOCATION))
    result = database.execute("SELECT * FROM alb_connection_logs ORDER BY conn_trace_id")
    assert [c[0] for c in result.description or ()] == [*(n for n, _ in COLUMNS), "day"]
    view = {row[11]: row for row in result.fetchall()}
    assert len(view) == len(entries)
    for fields in entries:
        line = entry_line(fields)
        match = regex.fullmatch(line)
        assert match is not None
        typed = [typed_as(kind, value) for (_, kind), value in zip(COLUMNS, match.groups(),
                                                                  strict=False)]
        assert view[fields[11]][:15] == tuple(typed), line


def entry_line(fields: tuple[str | None, ...]) -> str:
    """The raw line back from the Python reader's fields (inner quotes doubled again)."""
    head = [f or "" for f in fields[:7]]
    subject = (fields[7] or "").replace('"', '""')
    return " ".join([*head, f'"{subject}"', *(f for f in fields[8:] if f is not None)])


def typed_as(kind: str, value: str | None) -> object:
    if value is None:
        return "-"  # the view's stand-in for Athena's NULL in the fields a 12-field line lacks
    if kind == "int":
        return int(value)
    if kind == "double":
        return float(value) if re.fullmatch(r"\d+(\.\d+)?", value) else None
    return value


def test_scoped_queries_name_the_table_and_the_first_day() -> None:
    sql = scoped(CANNED["expired_client_certs"], table="conn_logs", since="2026/01/30")
    assert "FROM (SELECT * FROM conn_logs WHERE day >= '2026/01/30') AS alb_connection_logs" in sql
    assert "FROM presented" in sql
    assert "FROM conn_logs\n" in scoped(CANNED["failures_by_status"], table="conn_logs")
    for bad in ({"table": "a b"}, {"since": "2026-01-30"}, {"since": "' OR 1=1 --"}):
        with pytest.raises(ValueError, match=r"table|since"):
            scoped(CANNED["failures_by_status"], **bad)


def test_run_local_creates_the_view_when_missing(tmp_path: Path) -> None:
    path = write(tmp_path / "conn_log_b.log", [entry(1, "Failed:ClientCertCrlHit",
                                                     subject=ODD)], gz=False)
    database = load_logs(find_logs([str(path)])).database
    rows = run_local(database, CANNED["top_failing_subjects"])
    assert [(r["subject"], r["failures"]) for r in rows] == [(ODD, 1)]


def test_without_boto3_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MtlsDoctorError, match="needs boto3") as caught:
        run_query("SELECT 1", database="logs", workgroup=None, output=None)
    assert caught.value.fix == "pip install 'mtls-doctor[aws]'"
