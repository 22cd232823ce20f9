"""logs summarize: exact totals over every field variant, malformed lines, damaged gzip files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logs_factory import CODES, START, aws_name, entry, lines, write
from mtls_doctor.logs import reader
from mtls_doctor.logs.files import find_logs
from mtls_doctor.logs.python_reader import parse_line
from mtls_doctor.logs.reader import load_logs
from mtls_doctor.logs.schema import FIELDS
from mtls_doctor.logs.summary import COLUMNS, Filters, summarize
from test_cli import cli


def summary_of(*paths: Path, **options: object) -> dict[str, object]:
    """The summary, from a load of only the columns it reads (as the command loads)."""
    filters = Filters(**options)  # type: ignore[arg-type]
    found = find_logs([str(p) for p in paths])
    return summarize(load_logs(found, columns={*COLUMNS, *filters.columns()}), filters)


def test_totals_are_exact_across_every_variant(tmp_path: Path) -> None:
    text, expected = lines(3000)
    result = summary_of(write(tmp_path / "a.log.gz", text))
    assert result["by_status"] == dict(expected.by_status)
    assert result["connections"] == sum(expected.by_status.values())
    assert result["malformed_lines"] == expected.malformed
    assert result["failures"] == sum(n for s, n in expected.by_status.items()
                                     if s.startswith("Failed:"))
    subjects = {r["subject"]: r["count"] for r in result["top_failing_subjects"]}
    assert subjects == dict(expected.failing_subjects)
    assert {f"Failed:{c}" for c in CODES} <= set(result["by_status"])


def test_the_aws_layout_skips_access_logs_and_reads_both_names(tmp_path: Path) -> None:
    day = tmp_path / "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2026/01/31"
    write(day / aws_name(1), [entry(1, "Success", subject="CN=a")])
    write(day / aws_name(2).replace("conn_log_", "conn_log."), [entry(2, "-", subject=None)])
    write(day / "123456789012_elasticloadbalancing_eu-west-1_app.my-lb_x.log.gz", ["access"])
    result = summary_of(tmp_path)
    assert (result["files"], result["skipped_files"], result["connections"]) == (2, 1, 2)


def test_empty_and_damaged_gzip_files(tmp_path: Path) -> None:
    text, expected = lines(400)
    good = write(tmp_path / "good.log.gz", text)
    empty = tmp_path / "empty.log.gz"
    empty.write_bytes(gzip.compress(b""))
    damaged = tmp_path / "damaged.log.gz"
    whole = gzip.compress(("\n".join(entry(n, "Success", subject="CN=x") for n in range(2000))
                           + "\n").encode())
    damaged.write_bytes(whole[: len(whole) // 2])
    result = summary_of(good, empty, damaged)
    assert [d["file"] for d in result["damaged_files"]] == [str(damaged)]
    kept = result["connections"] - sum(expected.by_status.values())
    assert 0 < kept < 2000  # the entries before the damage are kept


def test_filters(tmp_path: Path) -> None:
    path = write(tmp_path / "f.log", [
        entry(0, "Success", subject="CN=a", client="198.51.100.1"),
        entry(70, "Failed:ClientCertExpired", subject="CN=b", client="198.51.100.2"),
        entry(200, "Failed:ClientCertExpired", subject="CN=b", client="198.51.100.2")], gz=False)
    from datetime import timedelta

    assert summary_of(path, since=START + timedelta(minutes=60))["connections"] == 2
    assert summary_of(path, until=START + timedelta(minutes=60))["connections"] == 1
    assert summary_of(path, status="ClientCertExpired")["connections"] == 2
    assert summary_of(path, status="Failed:ClientCertExpired")["connections"] == 2
    assert summary_of(path, client_ip="198.51.100.1")["by_status"] == {"Success": 1}
    hours = summary_of(path)["by_hour"]
    assert [h["failures"] for h in hours] == [0, 1, 1]  # type: ignore[index]


def test_python_reader_agrees_with_duckdb(tmp_path: Path) -> None:
    text, _ = lines(1500, seed=11)
    path = write(tmp_path / "agree.log", text, gz=False)
    loaded = load_logs(find_logs([str(path)]))
    duck = loaded.database.execute(
        "SELECT conn_trace_id, tls_verify_status, coalesce(subject, '-'), client_port "
        "FROM connections ORDER BY conn_trace_id").fetchall()
    mine = sorted((f[11], f[10], f[7], int(f[2])) for f in map(parse_line, text) if f)
    assert duck == mine


def test_a_load_of_some_columns_stores_and_shows_only_those(tmp_path: Path) -> None:
    text, _ = lines(800, seed=5)
    found = find_logs([str(write(tmp_path / "some.log.gz", text))])
    wanted = ("subject", "not_after", "failure_code", "file")
    with load_logs(found, columns=wanted) as some, load_logs(found) as every:
        assert [c[0] for c in some.database.execute(
            "DESCRIBE connections").fetchall()] == [c for c in reader.COLUMNS if c in wanted]
        assert [c[0] for c in some.database.execute("DESCRIBE _rows").fetchall()] == [
            "subject", "validity", "tls_verify_status", "file", "line"]
        query = f"SELECT {', '.join(wanted)} FROM connections ORDER BY ALL"
        assert some.database.execute(query).fetchall() == every.database.execute(
            query).fetchall()
        assert some.malformed_count == every.malformed_count > 0
        assert summarize(every) == summary_of(tmp_path / "some.log.gz")
    with pytest.raises(ValueError, match="no such connections column: nope"):
        load_logs(found, columns=["time", "nope"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_line_never_raises(text: str) -> None:
    fields = parse_line(text)
    assert fields is None or len(fields) == len(FIELDS)


def test_cli_summarize_json_and_text(capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    text, expected = lines(500)
    path = write(tmp_path / "c.log.gz", text)
    code, out, err = cli(capsys, "logs", "summarize", path, "--format", "json",
                         "--show-malformed")
    result = json.loads(out)
    assert code == 0 and result["by_status"] == dict(expected.by_status)
    assert err.count("malformed ") == expected.malformed
    assert set(result) >= {"files", "connections", "malformed_lines", "by_status", "failures",
                           "top_failing_subjects", "top_failing_clients", "first_seen",
                           "last_seen", "by_hour"}
    code, out, _ = cli(capsys, "logs", "summarize", path)
    assert code == 0 and "Top failing subjects" in out
    assert cli(capsys, "logs", "summarize", tmp_path / "missing")[0] == 3


def test_more_filters(tmp_path: Path) -> None:
    path = write(tmp_path / "m.log", [
        entry(0, "Success", subject="CN=alpha one"),
        entry(1, "Failed:ClientCertUntrusted", subject="CN=beta two"),
        entry(2, "-", subject=None)], gz=False)
    assert summary_of(path, subject="beta")["connections"] == 1
    assert summary_of(path, listener_port=80)["by_status"] == {"-": 1}
    assert summary_of(path, elb="app/my-lb/50dc6c495c0c9188")["connections"] == 3
    assert summary_of(path, elb="app/other/1")["connections"] == 0


def test_cli_query_and_to_parquet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text, expected = lines(300)
    path = write(tmp_path / "q.log.gz", text)
    code, out, _ = cli(capsys, "logs", "query", "SELECT tls_verify_status AS s, count(*) AS n "
                       "FROM connections GROUP BY 1", path, "--format", "json")
    assert code == 0
    assert {r["s"]: r["n"] for r in json.loads(out)} == dict(expected.by_status)
    assert cli(capsys, "logs", "query", "SELEC", path)[0] == 2
    parquet = tmp_path / "pq"
    assert cli(capsys, "logs", "to-parquet", parquet, path)[0] == 0
    import duckdb

    query = f"SELECT count(*) FROM read_parquet('{parquet}/*/*.parquet')"
    total = duckdb.connect().execute(query).fetchone()
    assert total == (sum(expected.by_status.values()),)
    assert cli(capsys, "logs", "to-parquet", parquet, path)[0] == 2


def test_trust_store_explains_failures(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    from factory import DAY, NOW, bundle, make_ca, make_crl, pem

    root = make_ca("Explain Root", key="p256")
    old = make_ca("Explain Old CA", key="p256", not_before=NOW - 9 * DAY, not_after=NOW - DAY)
    (tmp_path / "bundle.pem").write_bytes(bundle(root, old))
    (tmp_path / "ca.crl").write_bytes(pem(make_crl(root, [0xABCD])))
    revoked = entry(0, "Failed:ClientCertCrlHit", subject="CN=revoked").replace(" 0001 ",
                                                                              " ABCD ")
    path = write(tmp_path / "e.log", [
        revoked,
        entry(1, "Failed:ClientCertExpired", subject="CN=dated"),
        entry(2, "Failed:ClientCertUntrusted", subject="CN=stranger"),
        entry(3, "Success", subject="CN=fine")], gz=False)
    code, out, _ = cli(capsys, "logs", "summarize", path, "--trust-store",
                       tmp_path / "bundle.pem", "--crl", tmp_path / "ca.crl", "--format", "json")
    why = {r["status"]: r["explanation"] for r in json.loads(out)["explanations"]}
    assert code == 0 and set(why) == {"Failed:ClientCertCrlHit", "Failed:ClientCertExpired",
                                      "Failed:ClientCertUntrusted"}
    assert "revoked by CRL #1" in why["Failed:ClientCertCrlHit"]
    assert "cert.expired on #2" in why["Failed:ClientCertExpired"]
    assert "cert.expired on #2" in why["Failed:ClientCertUntrusted"]
    code, out, _ = cli(capsys, "logs", "summarize", path, "--trust-store",
                       tmp_path / "bundle.pem")
    assert code == 0 and "Failures the trust store explains" in out


def test_cli_canned_query_and_athena_ddl(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    text, expected = lines(400)
    path = write(tmp_path / "k.log.gz", text)
    code, out, _ = cli(capsys, "logs", "query", "failures_by_status", path, "--format", "json")
    counted = {r["tls_verify_status"]: r["connections"] for r in json.loads(out)}
    assert code == 0
    assert counted == {s: n for s, n in expected.by_status.items() if s.startswith("Failed:")}
    code, out, _ = cli(capsys, "logs", "athena-ddl", "--location",
                       "s3://bucket/AWSLogs/123456789012/elasticloadbalancing/eu-west-1")
    assert code == 0 and out.startswith("CREATE EXTERNAL TABLE")
    assert "-- top_failing_clients" in out and "projection.day.type" in out
    assert cli(capsys, "logs", "athena-ddl", "--location", "bucket/x")[0] == 2
