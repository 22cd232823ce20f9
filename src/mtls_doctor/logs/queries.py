"""Canned troubleshooting queries, each written once, for DuckDB (local files) and Athena alike.

Each query reads the table ``alb_connection_logs`` with the raw string columns of the Athena table
(:data:`mtls_doctor.logs.athena.COLUMNS`); locally, :func:`duckdb_view` builds a view of that
shape over the ``connections`` table. The SQL keeps to a subset both engines share (Trino is
Athena's engine v3): no ``GROUP BY ALL``, ``EXCLUDE``, ``FILTER``, quantiles or date functions;
times are compared and cut as ISO-8601 strings (``substr(time, 1, 13)`` is the hour). Every
query drops rows with no ``tls_verify_status``, which is what Athena makes of access-log lines
that share the prefix.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from mtls_doctor.logs.athena import TABLE_NAME

if TYPE_CHECKING:
    import duckdb

_FAILED = "tls_verify_status LIKE 'Failed:%'"
_SUBJECT = "replace(leaf_client_cert_subject, '\"\"', '\"')"  # the log doubles inner quotes

_QUERIES: dict[str, tuple[str, str]] = {
    "failures_by_status": ("Failed connections per tls_verify_status, first and last seen.", f"""
SELECT tls_verify_status, split_part(tls_verify_status, ':', 2) AS failure_code,
       count(*) AS connections, count(DISTINCT client_ip) AS clients,
       min(time) AS first_seen, max(time) AS last_seen
FROM alb_connection_logs
WHERE {_FAILED}
GROUP BY tls_verify_status
ORDER BY connections DESC, tls_verify_status"""),
    "top_failing_clients": ("The 20 client IPs with the most failed connections.", f"""
SELECT client_ip, count(*) AS failures, count(DISTINCT tls_verify_status) AS statuses,
       min(time) AS first_seen, max(time) AS last_seen
FROM alb_connection_logs
WHERE {_FAILED}
GROUP BY client_ip
ORDER BY failures DESC, client_ip
LIMIT 20"""),
    "top_failing_subjects": ("The 20 client-certificate subjects with the most failures.", f"""
SELECT {_SUBJECT} AS subject, count(*) AS failures,
       count(DISTINCT tls_verify_status) AS statuses, count(DISTINCT client_ip) AS clients,
       max(time) AS last_seen
FROM alb_connection_logs
WHERE {_FAILED} AND leaf_client_cert_subject <> '-'
GROUP BY leaf_client_cert_subject
ORDER BY failures DESC, subject
LIMIT 20"""),
    "failures_by_hour": ("Failed connections per UTC hour and tls_verify_status.", f"""
SELECT substr(time, 1, 13) AS hour_utc, tls_verify_status, count(*) AS connections
FROM alb_connection_logs
WHERE {_FAILED}
GROUP BY substr(time, 1, 13), tls_verify_status
ORDER BY hour_utc, connections DESC, tls_verify_status"""),
    "slow_handshakes": ("The 100 slowest TLS handshakes of 2 seconds or more.", """
SELECT time, client_ip, listener_port, tls_protocol, tls_cipher, tls_keyexchange,
       tls_handshake_latency, tls_verify_status, conn_trace_id
FROM alb_connection_logs
WHERE tls_handshake_latency >= 2.0 AND tls_verify_status IS NOT NULL
ORDER BY tls_handshake_latency DESC, time, conn_trace_id
LIMIT 100"""),
    "expired_client_certs": (
        "Client certificates that failed as expired or had expired when presented.", f"""
WITH presented AS (
  SELECT time, client_ip, tls_verify_status, leaf_client_cert_subject,
         leaf_client_cert_serial_number,
         CASE WHEN strpos(leaf_client_cert_validity, ';NotAfter=') > 0
              THEN substr(leaf_client_cert_validity,
                          strpos(leaf_client_cert_validity, ';NotAfter=') + 10)
         END AS not_after
  FROM alb_connection_logs
  WHERE tls_verify_status IS NOT NULL
)
SELECT {_SUBJECT} AS subject, leaf_client_cert_serial_number AS serial, not_after,
       count(*) AS connections, count(DISTINCT client_ip) AS clients,
       min(time) AS first_seen, max(time) AS last_seen
FROM presented
WHERE tls_verify_status = 'Failed:ClientCertExpired'
   OR substr(not_after, 1, 19) < substr(time, 1, 19)
GROUP BY leaf_client_cert_subject, leaf_client_cert_serial_number, not_after
ORDER BY last_seen DESC, subject, serial"""),
    "status_by_listener": ("Connections per load balancer, listener port and tls_verify_status.",
                           """
SELECT elb, listener_port, tls_verify_status, count(*) AS connections
FROM alb_connection_logs
WHERE tls_verify_status IS NOT NULL
GROUP BY elb, listener_port, tls_verify_status
ORDER BY elb, listener_port, connections DESC, tls_verify_status"""),
}
_FROM = re.compile(r"\bFROM alb_connection_logs\b")
CANNED: dict[str, str] = {name: sql.strip() for name, (_, sql) in _QUERIES.items()}
DESCRIPTIONS: dict[str, str] = {name: text for name, (text, _) in _QUERIES.items()}

_VIEW = """
CREATE OR REPLACE VIEW alb_connection_logs AS SELECT
  strftime(time, '%Y-%m-%dT%H:%M:%S.%fZ') AS time,
  client_ip, client_port, listener_port,
  coalesce(tls_protocol, '-') AS tls_protocol, coalesce(tls_cipher, '-') AS tls_cipher,
  tls_handshake_latency,
  coalesce(replace(subject, '"', '""'), '-') AS leaf_client_cert_subject,
  CASE WHEN not_before IS NULL AND not_after IS NULL THEN '-'
       ELSE 'NotBefore=' || coalesce(strftime(not_before, '%Y-%m-%dT%H:%M:%SZ'), '-')
            || ';NotAfter=' || coalesce(strftime(not_after, '%Y-%m-%dT%H:%M:%SZ'), '-')
  END AS leaf_client_cert_validity,
  coalesce(serial, '-') AS leaf_client_cert_serial_number,
  tls_verify_status, conn_trace_id,
  coalesce(tls_keyexchange, '-') AS tls_keyexchange, coalesce(elb, '-') AS elb,
  coalesce(ip_address, '-') AS ip_address,
  strftime(time, '%Y/%m/%d') AS day
FROM connections
"""


def duckdb_view(database: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the view ``alb_connection_logs`` over the ``connections`` table of
    :func:`~mtls_doctor.logs.reader.load_logs`, its values written back as the raw log has them:
    times as ISO 8601 with ``Z``, ``-`` for what is absent, inner quotes of a subject doubled.
    ``day`` stands in for Athena's partition column: the connection's UTC day, ``yyyy/MM/dd``.
    (Athena reads the last three columns of a 12-field line as NULL; here they are ``-``.)"""
    database.execute(_VIEW)


def scoped(sql: str, *, table: str = "alb_connection_logs", since: str | None = None) -> str:
    """A canned query over ``table`` and, given ``since`` (``yyyy/MM/dd``), only the ``day``
    partitions from then on: in Athena only those days' files are scanned (and paid for)."""
    if not TABLE_NAME.match(table):
        raise ValueError(f"not a table name: {table!r}")
    source = table
    if since is not None:
        try:
            datetime.strptime(since, "%Y/%m/%d")
        except ValueError:
            raise ValueError(f"since must be yyyy/MM/dd, not {since!r}") from None
        source = f"(SELECT * FROM {table} WHERE day >= '{since}') AS alb_connection_logs"
    return _FROM.sub(f"FROM {source}", sql)


def run_local(database: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, object]]:
    """Run a query over the view (created when missing) and return its rows by column name."""
    if database.execute("SELECT count(*) FROM duckdb_views() "
                        "WHERE view_name = 'alb_connection_logs'").fetchone() != (1,):
        duckdb_view(database)
    result = database.execute(sql)
    names = [column[0] for column in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
