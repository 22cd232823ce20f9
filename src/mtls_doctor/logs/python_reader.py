"""The cut of a connection-log line in pure Python: the reference the DuckDB reader's SQL cut
is tested against (tests/test_logs.py, tests/test_logs_memory.py)."""

from __future__ import annotations

from mtls_doctor.logs.schema import FIELDS, PORT, REQUIRED, STATUS, TIME


def parse_line(line: str) -> tuple[str | None, ...] | None:
    """The 15 fields of an entry (``-`` kept as is, missing trailing fields None), or None when
    the line is not an entry. The subject runs from the first to the last double quote."""
    line = line.rstrip("\r\n")
    first, last = line.find('"'), line.rfind('"')
    if first < 1 or last <= first:
        return None
    head = line[:first].split()
    tail = line[last + 1:].split()
    if len(head) != 7 or line[first - 1] != " ":
        return None
    subject = line[first + 1:last].replace('""', '"')
    fields: list[str | None] = [*head, subject, *tail]
    if len(fields) < REQUIRED:
        return None
    fields = (fields + [None] * len(FIELDS))[:len(FIELDS)]
    time, client_port, listener_port, status = fields[0], fields[2], fields[3], fields[10]
    if not (time and TIME.match(time) and client_port and PORT.match(client_port)
            and listener_port and PORT.match(listener_port) and status and STATUS.match(status)):
        return None
    return tuple(fields)
