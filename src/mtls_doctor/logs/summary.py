"""``logs summarize``: who fails, why and since when (contract.md, JSON: logs summarize)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mtls_doctor.logs.reader import LoadedLogs


@dataclass(frozen=True)
class Filters:
    """What to count: a time window, a status (``Success``, ``-``, ``Failed:Code`` or just the
    code), a client IP, text in the subject, a listener port, a load balancer id."""

    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    client_ip: str | None = None
    subject: str | None = None
    listener_port: int | None = None
    elb: str | None = None

    def columns(self) -> tuple[str, ...]:
        """The ``connections`` columns :meth:`where` reads."""
        chosen = {"time": self.since or self.until, "failure_code": self.status,
                  "client_ip": self.client_ip, "subject": self.subject,
                  "listener_port": self.listener_port, "elb": self.elb}
        return tuple(c for c, value in chosen.items() if value is not None)

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = ["TRUE"]
        values: list[Any] = []
        if self.since is not None:
            clauses.append("time >= ?")
            values.append(_naive(self.since))
        if self.until is not None:
            clauses.append("time < ?")
            values.append(_naive(self.until))
        if self.status is not None:
            clauses.append("(tls_verify_status = ? OR failure_code = ?)")
            values += [self.status, self.status]
        for column, value in (("client_ip", self.client_ip),
                              ("listener_port", self.listener_port), ("elb", self.elb)):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if self.subject is not None:
            clauses.append("contains(subject, ?)")
            values.append(self.subject)
        return " AND ".join(clauses), values


def _naive(moment: datetime) -> datetime:
    """Log times are UTC; DuckDB compares them as naive timestamps."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


# The connections columns summarize reads.
COLUMNS = ("time", "client_ip", "subject", "tls_verify_status", "status")


def summarize(logs: LoadedLogs, filters: Filters = Filters(), top: int = 20) -> dict[str, Any]:
    """The summary document of the contract, computed in DuckDB."""
    where, values = filters.where()

    def query(sql: str) -> list[tuple[Any, ...]]:
        return logs.database.execute(
            f"WITH chosen AS (SELECT * FROM connections WHERE {where}) {sql}", values).fetchall()

    total, failures, first, last = query(
        "SELECT count(*), count(*) FILTER (WHERE status = 'Failed'), min(time), max(time) "
        "FROM chosen")[0]
    by_status = dict(query("SELECT tls_verify_status, count(*) FROM chosen GROUP BY 1 "
                           "ORDER BY 2 DESC, 1"))

    def top_failing(column: str) -> list[dict[str, Any]]:
        rows = query(  # rank first, then count statuses for the top values only
            f", failed AS (SELECT {column} AS v, tls_verify_status AS code FROM chosen"
            f"  WHERE status = 'Failed' AND {column} IS NOT NULL),"
            f" top AS (SELECT v, count(*) AS n FROM failed GROUP BY v ORDER BY n DESC, v"
            f"  LIMIT {int(top)})"
            f" SELECT v, any_value(n), map_from_entries(list((code, k))) FROM top JOIN"
            f" (SELECT v, code, count(*) AS k FROM failed WHERE v IN (SELECT v FROM top)"
            f"  GROUP BY ALL) USING (v) GROUP BY v ORDER BY 2 DESC, 1")
        return [{column: value, "count": int(count), "statuses": dict(statuses)}
                for value, count, statuses in rows]

    hours = query("SELECT date_trunc('hour', time), count(*), count(*) FILTER (WHERE status = "
                  "'Failed') FROM chosen GROUP BY 1 ORDER BY 1")
    return {
        "files": logs.files,
        "skipped_files": logs.skipped_files,
        "damaged_files": [{"file": f, "error": why} for f, why in logs.damaged],
        "connections": total,
        "malformed_lines": logs.malformed_count,
        "by_status": by_status,
        "failures": failures,
        "top_failing_subjects": top_failing("subject"),
        "top_failing_clients": top_failing("client_ip"),
        "first_seen": _iso(first),
        "last_seen": _iso(last),
        "by_hour": [{"hour": _iso(h), "total": n, "failures": f} for h, n, f in hours],
    }
