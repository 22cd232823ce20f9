"""Connection logs into DuckDB, with no line lost or misread, in bounded memory.

DuckDB reads every file in one ``read_csv`` call, in parallel across files, one physical line per
row (no CSV quoting, so a stray quote can never swallow the lines after it), and cuts each line in
the same statement, straight into the table ``_rows``; no table of raw lines is ever built. The
database is in memory, capped at :data:`MEMORY_LIMIT`, and spills to a temporary folder that
:meth:`LoadedLogs.close` deletes, so ten million lines fit in well under a gigabyte.

The cut is :func:`~mtls_doctor.logs.python_reader.parse_line`'s: seven fields, the subject from the
first to the last double quote, the rest. The fast cut (``string_split`` on single spaces) is
taken only by lines it provably cuts as ``parse_line`` does: printable ASCII, single spaces, no
control character, time, ports and status of the right form. Every other line is kept as text and
cut afterwards by the exact cut (``regexp_extract_all`` over Python's whitespace, Unicode digits as
Python's ``\\d``), with the lines DuckDB rejects (invalid UTF-8). A file DuckDB cannot open (a
damaged gzip) is decompressed by Python, up to the damage, into the temporary folder and read
again. The lines that are not entries are counted exactly; the first :data:`MALFORMED_KEPT` are
kept for ``--show-malformed``.

``connections`` is a view over ``_rows``: the certificate dates, ``status`` and ``failure_code``
are computed when a query asks for them, not for every line at load time. A command that reads
a few columns (``logs summarize``) asks for those only: the others are not stored.
"""

from __future__ import annotations

import gzip
import re
import shutil
import tempfile
import weakref
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mtls_doctor.logs.files import LogFiles
from mtls_doctor.logs.schema import PORT_PATTERN, STATUS_PATTERN, TIME_PATTERN

if TYPE_CHECKING:
    import duckdb

MEMORY_LIMIT = "512MB"
MALFORMED_KEPT = 10_000

# What Python's str.split() splits on, for RE2: the test suite checks it against str.isspace.
SPACE = ("\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}"
         "\\x{2029}\\x{202f}\\x{205f}\\x{3000}")
_GLOB = re.compile(r"[*?\[{]")

# One column per physical line: a delimiter no log line has, no quoting. strict_mode=false: a
# carriage return ends a line (as Python's newline="" does) instead of failing the whole read.
_READ = ("read_csv(?, columns={'line': 'VARCHAR'}, delim='\\x1f', quote='', escape='', "
         "header=false, auto_detect=false, new_line='\\n', strict_mode=false, "
         "store_rejects=true, filename=true)")
# The columns of ``connections`` (``logs query`` documents them) and, for each one computed
# from a stored column, the stored column it needs.
COLUMNS = ("time", "client_ip", "client_port", "listener_port", "tls_protocol", "tls_cipher",
           "tls_handshake_latency", "subject", "not_before", "not_after", "serial",
           "tls_verify_status", "status", "failure_code", "conn_trace_id", "tls_keyexchange",
           "elb", "ip_address", "file")
_SOURCE = {"not_before": "validity", "not_after": "validity", "status": "tls_verify_status",
           "failure_code": "tls_verify_status"}
_TYPES = {"time": "TIMESTAMP", "client_port": "INTEGER", "listener_port": "INTEGER",
          "tls_handshake_latency": "DOUBLE"}
_DERIVED = {
    "not_before": """TRY_CAST(replace(CASE WHEN strpos(validity, ';') = 31
      AND starts_with(validity, 'NotBefore=') THEN substr(validity, 11, 20)
      ELSE regexp_extract(validity, 'NotBefore=([^;]+)', 1) END, 'Z', '') AS TIMESTAMP)""",
    "not_after": """TRY_CAST(replace(CASE WHEN contains(validity, 'NotAfter=')
      THEN substr(validity, strpos(validity, 'NotAfter=') + 9) END, 'Z', '') AS TIMESTAMP)""",
    "status": "CASE WHEN starts_with(tls_verify_status, 'Failed:') THEN 'Failed' "
              "ELSE tls_verify_status END",
    "failure_code": "CASE WHEN starts_with(tls_verify_status, 'Failed:') "
                    "THEN substr(tls_verify_status, 8) END",
    "file": "CAST(file AS VARCHAR)",
}


def _stored(head: str, tail: str, offset: int) -> dict[str, str]:
    """Each stored column cut from the lists ``head`` (7 fields) and ``tail`` (the fields after
    the subject, from index ``1 + offset``), ``-`` as NULL where it means absent."""
    def t(n: int) -> str:
        return f"{tail}[{n + offset}]"

    return {
        "time": f"TRY_CAST({head}[1] AS TIMESTAMP)", "client_ip": f"{head}[2]",
        "client_port": f"TRY_CAST({head}[3] AS INTEGER)",
        "listener_port": f"TRY_CAST({head}[4] AS INTEGER)",
        "tls_protocol": f"nullif({head}[5], '-')", "tls_cipher": f"nullif({head}[6], '-')",
        "tls_handshake_latency": f"TRY_CAST(nullif({head}[7], '-') AS DOUBLE)",
        "subject": "nullif(subject, '-')", "validity": f"CASE WHEN {t(1)} <> '-' THEN {t(1)} END",
        "serial": f"nullif({t(2)}, '-')", "tls_verify_status": t(3), "conn_trace_id": t(4),
        "tls_keyexchange": f"nullif({t(5)}, '-')", "elb": f"nullif({t(6)}, '-')",
        "ip_address": f"nullif({t(7)}, '-')"}


@dataclass(frozen=True)
class _Layout:
    """What one load stores (only what its command reads: storing is most of the cost) and the
    SQL that follows from it."""

    stored: tuple[str, ...]
    shown: tuple[str, ...]

    @classmethod
    def of(cls, columns: Iterable[str] | None) -> _Layout:
        wanted = set(COLUMNS if columns is None else columns)
        unknown = wanted - set(COLUMNS)
        if unknown:
            raise ValueError(f"no such connections column: {', '.join(sorted(unknown))}")
        needed = {_SOURCE.get(c, c) for c in wanted} - {"file"}
        return cls(tuple(c for c in _stored("h", "t", 0) if c in needed),
                   tuple(c for c in COLUMNS if c in wanted))

    def table(self) -> str:
        columns = ", ".join(f"{c} {_TYPES.get(c, 'VARCHAR')}" for c in self.stored)
        return f"CREATE TABLE _rows ({columns}, file log_file, line VARCHAR)"

    def view(self) -> str:
        columns = ", ".join(f"{_DERIVED[c]} AS {c}" if c in _DERIVED else c for c in self.shown)
        return f"CREATE VIEW connections AS SELECT {columns} FROM _rows WHERE line IS NULL"

    def typed(self, head: str, tail: str, offset: int) -> str:
        cut = _stored(head, tail, offset)
        return ", ".join(cut[c] for c in self.stored)


def _fast_insert(layout: _Layout, file_expression: str) -> str:
    """The one statement that reads every file and stores every line: cut, or as text for the
    exact cut when the fast cut could differ from ``parse_line`` (see the module docstring)."""
    controls = " OR ".join(f"contains(line, chr({c}))" for c in (9, 11, 12, 13, 28, 29, 30, 31))
    prefix = f"^{TIME_PATTERN} [!#-~]+ {PORT_PATTERN} {PORT_PATTERN} "
    return f"""
INSERT INTO _rows
WITH a AS (
  SELECT file, line, q, q[1] AS h, q[-1] AS t FROM (
    SELECT {file_expression} AS file, line, string_split(line, '"') AS q FROM {_READ}
    WHERE line <> '')
), b AS (
  SELECT file, line, q, h, string_split(h, ' ') AS head, string_split(t, ' ') AS tail,
    len(q) >= 3 AND ends_with(h, ' ') AND starts_with(t, ' ') AND NOT ends_with(t, ' ')
    AND NOT contains(h, '  ') AND NOT contains(t, '  ') AND strlen(h) = length(h)
    AND strlen(t) = length(t) AND NOT ({controls}) AS plain
  FROM a
), c AS (
  SELECT file, line, head, tail,
    CASE WHEN len(q) = 3 THEN q[2]
         ELSE replace(array_to_string(q[2:-2], '"'), '""', '"') END AS subject,
    plain AND len(head) = 8 AND len(tail) >= 5
    AND (tail[4] IN ('Success', '-') OR regexp_full_match(tail[4], 'Failed:[A-Za-z]+'))
    AND regexp_matches(h, '{prefix}') AS fast
  FROM b
)
SELECT {layout.typed("head", "tail", 1)}, CAST(file AS log_file),
  CASE WHEN NOT fast THEN line END
FROM c
"""


def _unicode(pattern: str) -> str:
    """A schema pattern with Python's ``\\d`` (any Unicode decimal digit) for RE2's ASCII one."""
    return pattern.replace("\\d", "\\p{Nd}")


# The exact cut, for the lines the fast cut left as text (and the rejected lines).
_SLOW = f"""
CREATE TEMP TABLE _slow AS
WITH m AS (
  SELECT file, number, line,
    regexp_extract(line, '(?s)^([^"]*)"(.*)"([^"]*)$', ['h', 's', 't']) AS m
  FROM (SELECT file, number, rtrim(line, chr(13) || chr(10)) AS line FROM _pending)
  WHERE NOT regexp_full_match(line, '[{SPACE}]*')
), cut AS (
  SELECT file, number, line,
    CASE WHEN ends_with(m.h, ' ') THEN regexp_extract_all(m.h, '[^{SPACE}]+') END AS head,
    regexp_extract_all(m.t, '[^{SPACE}]+') AS tail, replace(m.s, '""', '"') AS subject
  FROM m
)
SELECT *, (len(head) = 7 AND len(tail) >= 4
  AND regexp_full_match(head[1], '{_unicode(TIME_PATTERN)}')
  AND regexp_full_match(head[3], '{_unicode(PORT_PATTERN)}')
  AND regexp_full_match(head[4], '{_unicode(PORT_PATTERN)}')
  AND regexp_full_match(tail[3], '{STATUS_PATTERN}')) IS TRUE AS entry
FROM cut
"""


@dataclass(frozen=True)
class Malformed:
    """A line that is not a connection-log entry: its file, line number (when known), text."""

    file: str
    line: int | None
    text: str


@dataclass(frozen=True)
class LoadedLogs:
    """The ``connections`` view in DuckDB, and what could not be read.

    ``malformed`` holds the first :data:`MALFORMED_KEPT` lines that are not entries,
    ``malformed_count`` counts them all. :meth:`close` (or ``with``) closes the database and
    deletes its spill folder; the folder also goes when the connection is garbage collected, or
    at exit."""

    database: duckdb.DuckDBPyConnection
    files: int
    skipped_files: int
    malformed: tuple[Malformed, ...]
    damaged: tuple[tuple[str, str], ...]  # (file, what is wrong with it)
    malformed_count: int
    workdir: Path | None = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Close the database and delete its temporary files (idempotent)."""
        _release(self.database, self.workdir)

    def __enter__(self) -> LoadedLogs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _release(database: duckdb.DuckDBPyConnection, workdir: Path | None) -> None:
    database.close()
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def load_logs(found: LogFiles, *, columns: Iterable[str] | None = None,
              memory_limit: str = MEMORY_LIMIT) -> LoadedLogs:
    """Read every file into DuckDB; never raises for what is inside the files.

    ``columns`` names the :data:`COLUMNS` of ``connections`` the caller reads (all by default);
    the view has only those, and only the fields they need are stored."""
    import duckdb

    layout = _Layout.of(columns)

    workdir = Path(tempfile.mkdtemp(prefix="mtls-doctor-logs-"))
    try:
        database = duckdb.connect(config={"memory_limit": memory_limit,
                                          "temp_directory": str(workdir / "spill")})
        database.execute("SET enable_progress_bar = false")  # the core never prints
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    weakref.finalize(database, shutil.rmtree, workdir, True)
    try:
        loaded = _load(database, found, layout, workdir)
    except BaseException:
        _release(database, workdir)
        raise
    return LoadedLogs(database, len(found.files), found.skipped, *loaded, workdir=workdir)


def _load(database: duckdb.DuckDBPyConnection, found: LogFiles, layout: _Layout,
          workdir: Path) -> tuple[tuple[Malformed, ...], tuple[tuple[str, str], ...], int]:
    import duckdb

    names = [str(p) for p in found.files]
    database.execute("CREATE TEMP TABLE _files AS SELECT DISTINCT unnest(?::VARCHAR[]) AS name",
                     [names])
    database.execute("CREATE TYPE log_file AS ENUM (SELECT name FROM _files)")
    database.execute(layout.table())
    database.execute(layout.view())
    database.execute("CREATE TEMP TABLE _pending (file VARCHAR, number BIGINT, line VARCHAR)")
    copies: dict[str, str] = {}  # a copy DuckDB reads -> the file it stands for
    damaged: list[tuple[str, str]] = []
    pending: list[str] = []
    for name in names:  # DuckDB would read these as glob patterns: read a plain copy instead
        if _GLOB.search(name):
            pending.append(_copy(Path(name), workdir, copies, damaged, None))
        else:
            pending.append(name)
    database.execute("SET preserve_insertion_order = false")
    while pending:
        try:
            database.execute(_fast_insert(layout, _original_name(copies)), [pending])
            break
        except duckdb.Error as exc:
            culprit = _culprit(str(exc), pending)
            if culprit is None:
                raise
            pending.remove(culprit)
            if culprit in copies:  # even the plain copy fails: Python reads it line by line
                _insert_lines(database, copies[culprit], _text_lines(Path(culprit)))
            else:
                pending.append(_copy(Path(culprit), workdir, copies, damaged, str(exc)))
    database.execute("RESET preserve_insertion_order")
    if database.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = "
                        "'reject_scans'").fetchone() in ((1,),):
        rejects = database.execute(
            "SELECT s.file_path, e.line, any_value(e.csv_line) FROM reject_errors e "
            "JOIN reject_scans s USING (scan_id, file_id) "
            "WHERE e.scan_id = (SELECT max(scan_id) FROM reject_scans) GROUP BY ALL").fetchall()
        for path, number, text in rejects:  # a rejected line comes with the blank ones before it
            last = (text or "").split("\n")[-1]
            _insert_lines(database, copies.get(path, path), [(number, last)])
    database.execute("INSERT INTO _pending SELECT CAST(file AS VARCHAR), NULL, line FROM _rows "
                     "WHERE line IS NOT NULL")
    database.execute(_SLOW)
    database.execute(f"INSERT INTO _rows SELECT {layout.typed('head', 'tail', 0)}, "
                     "CAST(file AS log_file), NULL FROM _slow WHERE entry")
    count_row = database.execute("SELECT count(*) FROM _slow WHERE NOT entry").fetchone()
    malformed = tuple(Malformed(f, n, t) for f, n, t in database.execute(
        "SELECT file, number, line FROM _slow WHERE NOT entry ORDER BY file, number "
        f"LIMIT {MALFORMED_KEPT}").fetchall())
    database.execute("DROP TABLE _slow; DROP TABLE _pending; DROP TABLE _files; "
                     "DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    return malformed, tuple(damaged), int(count_row[0]) if count_row else 0


def _original_name(copies: dict[str, str]) -> str:
    if not copies:
        return "filename"
    cases = " ".join(f"WHEN {_quote(c)} THEN {_quote(o)}" for c, o in copies.items())
    return f"CASE filename {cases} ELSE filename END"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _culprit(message: str, pending: list[str]) -> str | None:
    """The file a DuckDB error names (it ends with the path, or says ``file = path``)."""
    message = message.rstrip()
    named = [f for f in pending if message.endswith(f) or f"file = {f}\n" in message + "\n"]
    return max(named, key=len, default=None)


def _copy(path: Path, workdir: Path, copies: dict[str, str], damaged: list[tuple[str, str]],
          duckdb_error: str | None) -> str:
    """Decompress ``path`` into a plain file for DuckDB, up to the damage (only whole lines are
    kept); a damaged file, or one DuckDB could not read, is listed in ``damaged``."""
    target = workdir / f"copy-{len(copies)}.log"
    why: str | None = None
    kept = 0
    with target.open("wb") as out:
        try:
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rb") as source:
                while chunk := source.read1(1 << 16):
                    out.write(chunk)
                    newline = chunk.rfind(b"\n")
                    kept = out.tell() - len(chunk) + newline + 1 if newline >= 0 else kept
                kept = out.tell()
        except (OSError, EOFError, zlib.error) as exc:
            why = f"{type(exc).__name__}: {exc}"
        out.truncate(kept)
    if why is not None or duckdb_error is not None:
        damaged.append((str(path), why or _first_line(duckdb_error or "")))
    copies[str(target)] = str(path)
    return str(target)


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        yield from enumerate(handle, start=1)


def _insert_lines(database: duckdb.DuckDBPyConnection, file: str,
                  lines: Iterator[tuple[int, str]] | list[tuple[int, str]]) -> None:
    batch: list[tuple[str, int, str]] = []
    for number, text in lines:
        batch.append((file, number, text))
        if len(batch) == 10_000:
            database.executemany("INSERT INTO _pending VALUES (?, ?, ?)", batch)
            batch.clear()
    if batch:
        database.executemany("INSERT INTO _pending VALUES (?, ?, ?)", batch)


def _first_line(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().splitlines()[0])[:200] if text.strip() else ""
