"""A pure-Python reader of the same schema as the DuckDB reader: the reference for the lines
DuckDB rejects (a subject with stray quotes), and for files DuckDB cannot open (damaged gzip)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

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


def read_lines(path: Path) -> tuple[list[str], str | None]:
    """Every complete line of a file (gzip or not) and, when the file is damaged, why; the lines
    before the damage are kept."""
    lines: list[str] = []
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            lines.extend(handle)
    except (OSError, EOFError, zlib.error) as exc:
        return lines, f"{type(exc).__name__}: {exc}"
    return lines, None
