"""Connection logs into DuckDB, with no line lost or misread.

DuckDB reads every file in one ``read_csv`` call, in parallel across files, one physical line
per row (no CSV quoting, so a stray quote can never swallow the lines after it). The fields
are then cut in SQL exactly as :func:`~mtls_doctor.logs.python_reader.parse_line` cuts them:
seven fields, the subject from the first to the last double quote, the rest. Files DuckDB cannot
open (damaged gzip) are read by Python up to the damage; lines that are not entries are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mtls_doctor.logs.files import LogFiles
from mtls_doctor.logs.python_reader import read_lines
from mtls_doctor.logs.schema import PORT_PATTERN, STATUS_PATTERN, TIME_PATTERN

if TYPE_CHECKING:
    import duckdb

# One column per physical line: a delimiter no log line has, no quoting; a line that does hold
# the delimiter is a reject, and is read back from the rejects table.
_READ = ("read_csv(?, columns={'line': 'VARCHAR'}, delim='\\x1f', quote='', escape='', "
         "header=false, auto_detect=false, new_line='\\n', store_rejects=true, filename=true)")
_CUT = """
CREATE TABLE cut AS
WITH marked AS (
  SELECT file, number, line, strpos(line, '"') AS q1,
         length(line) - strpos(reverse(line), '"') + 1 AS q2
  FROM (SELECT file, number, rtrim(line, chr(13)) AS line FROM lines)
), parts AS (
  SELECT file, number, line,
    CASE WHEN q1 > 1 AND q2 > q1 AND substr(line, q1 - 1, 1) = ' '
         THEN regexp_split_to_array(trim(substr(line, 1, q1 - 1)), '\\s+') END AS head,
    replace(substr(line, q1 + 1, q2 - q1 - 1), '""', '"') AS subject,
    CASE WHEN trim(substr(line, q2 + 1)) = '' THEN []::VARCHAR[]
         ELSE regexp_split_to_array(trim(substr(line, q2 + 1)), '\\s+') END AS tail
  FROM marked
)
SELECT file, number, line, head[1] AS time, head[2] AS client_ip, head[3] AS client_port,
  head[4] AS listener_port, head[5] AS tls_protocol, head[6] AS tls_cipher,
  head[7] AS tls_handshake_latency, subject, tail[1] AS validity, tail[2] AS serial,
  tail[3] AS tls_verify_status, tail[4] AS conn_trace_id, tail[5] AS tls_keyexchange,
  tail[6] AS elb, tail[7] AS ip_address,
  (len(head) = 7 AND len(tail) >= 4
   AND regexp_full_match(head[1], '""" + TIME_PATTERN + """')
   AND regexp_full_match(head[3], '""" + PORT_PATTERN + """')
   AND regexp_full_match(head[4], '""" + PORT_PATTERN + """')
   AND regexp_full_match(tail[3], '""" + STATUS_PATTERN + """')) IS TRUE AS entry
FROM parts
"""
_TYPED = """
CREATE TABLE connections AS SELECT
  CAST(replace(time, 'Z', '') AS TIMESTAMP) AS time,
  client_ip, CAST(client_port AS INTEGER) AS client_port,
  CAST(listener_port AS INTEGER) AS listener_port,
  nullif(tls_protocol, '-') AS tls_protocol, nullif(tls_cipher, '-') AS tls_cipher,
  TRY_CAST(nullif(tls_handshake_latency, '-') AS DOUBLE) AS tls_handshake_latency,
  nullif(subject, '-') AS subject,
  TRY_CAST(replace(regexp_extract(validity, 'NotBefore=([^;]+)', 1), 'Z', '') AS TIMESTAMP)
    AS not_before,
  TRY_CAST(replace(regexp_extract(validity, 'NotAfter=(.+)', 1), 'Z', '') AS TIMESTAMP)
    AS not_after,
  nullif(serial, '-') AS serial, tls_verify_status,
  CASE WHEN starts_with(tls_verify_status, 'Failed:') THEN 'Failed' ELSE tls_verify_status END
    AS status,
  CASE WHEN starts_with(tls_verify_status, 'Failed:') THEN substr(tls_verify_status, 8) END
    AS failure_code,
  conn_trace_id, nullif(tls_keyexchange, '-') AS tls_keyexchange, nullif(elb, '-') AS elb,
  nullif(ip_address, '-') AS ip_address, file
FROM cut WHERE entry
"""


@dataclass(frozen=True)
class Malformed:
    """A line that is not a connection-log entry: its file, line number (when known), text."""

    file: str
    line: int | None
    text: str


@dataclass(frozen=True)
class LoadedLogs:
    """The ``connections`` table in an in-memory DuckDB, and what could not be read."""

    database: duckdb.DuckDBPyConnection
    files: int
    skipped_files: int
    malformed: tuple[Malformed, ...]
    damaged: tuple[tuple[str, str], ...]  # (file, what is wrong with it)


def load_logs(found: LogFiles) -> LoadedLogs:
    """Read every file into DuckDB; never raises for what is inside the files."""
    import duckdb

    database = duckdb.connect()
    database.execute("CREATE TABLE lines (file VARCHAR, number BIGINT, line VARCHAR)")
    pending = [str(p) for p in found.files]
    damaged: list[tuple[str, str]] = []
    extra: list[tuple[str, int | None, str]] = []
    while pending:
        try:
            database.execute(f"INSERT INTO lines SELECT filename, NULL, line FROM {_READ} "
                             "WHERE line IS NOT NULL AND trim(line) <> ''", [pending])
            break
        except duckdb.Error as exc:
            culprit = next((f for f in pending if str(exc).rstrip().endswith(f)), None)
            if culprit is None:
                raise
            pending.remove(culprit)
            text, why = read_lines(Path(culprit))
            damaged.append((culprit, why or _first_line(str(exc))))
            extra += [(culprit, n, t) for n, t in enumerate(text, start=1) if t.strip()]
    if database.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                        "'reject_errors'").fetchone() in ((1,),):
        extra += database.execute(
            "SELECT s.file_path, e.line, any_value(e.csv_line) FROM reject_errors e "
            "JOIN reject_scans s USING (scan_id, file_id) GROUP BY ALL").fetchall()
    if extra:
        database.executemany("INSERT INTO lines VALUES (?, ?, ?)",
                             [(f, n, t.rstrip("\n")) for f, n, t in extra])
    database.execute(_CUT)
    database.execute(_TYPED)
    malformed = tuple(Malformed(f, n, t) for f, n, t in database.execute(
        "SELECT file, number, line FROM cut WHERE NOT entry ORDER BY file, number").fetchall())
    database.execute("DROP TABLE cut; DROP TABLE lines")
    return LoadedLogs(database, len(found.files), found.skipped, malformed, tuple(damaged))


def _first_line(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().splitlines()[0])[:200]
