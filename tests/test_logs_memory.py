"""logs summarize in bounded memory: ten million lines under 1 GB, counted exactly; and the fast
cut of the DuckDB reader agrees with ``parse_line`` on the lines where it could go wrong."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logs_factory import CODES, START, SUBJECTS, entry, write
from mtls_doctor.logs.files import find_logs
from mtls_doctor.logs.python_reader import parse_line
from mtls_doctor.logs.reader import MALFORMED_KEPT, SPACE, load_logs

BLOCK = 100_000  # lines, compressed once and written as many gzip members as needed
FILES, MEMBERS = 4, 25  # 4 files of 2.5 million lines: 10 million
LIMIT_KB = 1024 * 1024

# Measures its one child's peak RSS: RUSAGE_CHILDREN of the pytest process would also hold
# every other process the suite started.
WRAPPER = ("import resource, subprocess, sys\n"
           "subprocess.run(sys.argv[1:], check=True)\n"
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
WORKER = ("import json, sys\n"
          "from mtls_doctor.logs.files import find_logs\n"
          "from mtls_doctor.logs.reader import load_logs\n"
          "from mtls_doctor.logs.summary import summarize\n"
          "with load_logs(find_logs(sys.argv[1:])) as logs:\n"
          "    s = summarize(logs)\n"
          "    print(json.dumps({'connections': s['connections'], 'by_status': s['by_status'],\n"
          "                      'malformed_count': logs.malformed_count,\n"
          "                      'malformed_kept': len(logs.malformed)}))\n")


def block() -> tuple[bytes, Counter[str], int]:
    """BLOCK realistic lines (every status, 12/15/16 fields, subjects with spaces, commas and
    quotes, many clients), one malformed line in 500, as one gzip member."""
    text: list[str] = []
    statuses = ["Success"] * 6 + ["-"] + [f"Failed:{c}" for c in CODES]
    counts: Counter[str] = Counter()
    for n in range(BLOCK):
        if n % 500 == 7:
            text.append(f"not an entry {n}")
            continue
        status = statuses[n % len(statuses)]
        subject = None if status == "-" else SUBJECTS[n % len(SUBJECTS)]
        text.append(entry(n % 20_000, status, subject=subject, fields=(12, 15, 15, 16)[n % 4],
                          when=START + timedelta(seconds=30 * n),  # ports stay 5 digits
                          client=f"198.51.{n % 200}.{n % 251}"))
        counts[status] += 1
    data = gzip.compress(("\n".join(text) + "\n").encode(), compresslevel=1)
    return data, counts, BLOCK - sum(counts.values())


def test_ten_million_lines_in_under_a_gigabyte(tmp_path: Path) -> None:
    member, counts, malformed = block()
    paths = []
    for i in range(FILES):
        path = tmp_path / f"conn_log_{i}.log.gz"
        with path.open("wb") as out:
            for _ in range(MEMBERS):
                out.write(member)
        paths.append(str(path))
    done = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-c", WORKER, *paths],
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    *output, peak = done.stdout.strip().splitlines()
    result = json.loads(output[-1])
    times = FILES * MEMBERS
    assert result["connections"] == times * sum(counts.values()) == 10_000_000 - times * malformed
    assert result["by_status"] == {status: times * n for status, n in counts.items()}
    assert result["malformed_count"] == times * malformed > MALFORMED_KEPT
    assert result["malformed_kept"] == MALFORMED_KEPT
    assert int(peak) < LIMIT_KB, f"peak RSS {int(peak) / 1024:.0f} MB"


def test_space_is_what_python_splits_on() -> None:
    python = re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: f"\\U{int(m[1], 16):08x}", SPACE)
    pattern = re.compile(f"[{python}]")
    chars = [chr(c) for c in range(sys.maxunicode + 1)]
    assert [c for c in chars if pattern.fullmatch(c)] == [c for c in chars if c.isspace()]


# One to three characters put in or replaced where a fast cut could part from parse_line.
ODD = st.sampled_from([" ", "  ", "\t", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85", "\xa0",
                       "\u3000", '"', '""', "-", "Z", "\u0663", "é", ";", "NotAfter="])
COLUMNS = ("client_ip, client_port, listener_port, tls_protocol, tls_cipher, subject, serial, "
           "tls_verify_status, conn_trace_id, tls_keyexchange, elb, ip_address")


@st.composite
def near_entries(draw: st.DrawFn) -> str:
    status = draw(st.sampled_from(["Success", "-", "Failed:ClientCertExpired", "Failed:Ünicode"]))
    line = entry(draw(st.integers(0, 10_000)), status,
                 subject=draw(st.sampled_from([None, *SUBJECTS])),
                 fields=draw(st.sampled_from([12, 15, 16])))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(ODD) + line[at + draw(st.integers(0, 2)):]
    return line


def _expected(fields: tuple[str | None, ...]) -> tuple[object, ...]:
    """The row of ``connections`` for parse_line's fields (ports in Unicode digits: NULL)."""
    def absent(value: str | None) -> str | None:
        return None if value == "-" else value

    def port(value: str | None) -> int | None:
        return int(value) if value is not None and value.isascii() else None

    f = fields
    return (f[1], port(f[2]), port(f[3]), absent(f[4]), absent(f[5]), absent(f[7]),
            absent(f[9]), f[10], f[11], absent(f[12]), absent(f[13]), absent(f[14]))


@settings(max_examples=80, deadline=None)
@given(text=st.lists(near_entries(), min_size=1, max_size=30))
def test_the_reader_cuts_as_parse_line(tmp_path_factory: pytest.TempPathFactory,
                                       text: list[str]) -> None:
    path = write(tmp_path_factory.mktemp("cut") / "odd.log", text, gz=False)
    with load_logs(find_logs([str(path)])) as logs:
        rows = logs.database.execute(f"SELECT {COLUMNS} FROM connections").fetchall()
        malformed = sorted(m.text for m in logs.malformed)
        count = logs.malformed_count
    lines = [t for line in text for t in line.replace("\r", "\n").split("\n") if t.strip()]
    parsed = [(t, parse_line(t)) for t in lines]
    assert malformed == sorted(t for t, f in parsed if f is None)
    assert count == len(malformed)
    assert sorted(rows, key=repr) == sorted((_expected(f) for _, f in parsed if f), key=repr)


def test_close_deletes_the_temporary_folder(tmp_path: Path) -> None:
    path = write(tmp_path / "a.log.gz", [entry(1, "Success", subject="CN=a")])
    with load_logs(find_logs([str(path)])) as logs:
        assert logs.workdir is not None and logs.workdir.exists()
        assert logs.database.execute("SELECT count(*) FROM connections").fetchone() == (1,)
    assert not logs.workdir.exists()


def test_crlf_invalid_utf8_and_a_glob_in_the_name(tmp_path: Path) -> None:
    good = [entry(n, "Success", subject="CN=a") for n in range(3)]
    data = "\r\n".join([*good, "garbage", ""]).encode()
    data += entry(3, "Failed:ClientCertExpired", subject="CN=\x01").encode().replace(
        b"\x01", b"\xff") + b"\r\n"
    path = tmp_path / "conn_log[1].log"
    path.write_bytes(data)
    with load_logs(find_logs([str(path)])) as logs:
        rows = logs.database.execute(
            "SELECT file, tls_verify_status, count(*) FROM connections GROUP BY ALL "
            "ORDER BY ALL").fetchall()
        assert rows == [(str(path), "Failed:ClientCertExpired", 1), (str(path), "Success", 3)]
        assert (logs.malformed_count, [m.text for m in logs.malformed]) == (1, ["garbage"])
        assert logs.damaged == ()
