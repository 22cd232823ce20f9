"""Which files to read: paths as given, folders searched in the AWS layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mtls_doctor.errors import InputError
from mtls_doctor.logs.schema import FILE_NAME


@dataclass(frozen=True)
class LogFiles:
    """The connection-log files found, and how many other files were passed over."""

    files: tuple[Path, ...]
    skipped: int


def find_logs(paths: list[str], *, cache: Path | None = None,
              progress: Callable[[int, int], None] | None = None) -> LogFiles:
    """Files named on the command line are read whatever their name; folders are searched
    recursively for ``conn_log_*.log(.gz)`` (access logs in the same prefix are skipped);
    ``s3://bucket/prefix`` is downloaded into ``cache`` first (see :mod:`.s3`)."""
    found: list[Path] = []
    skipped = 0
    for name in paths:
        path = Path(name)
        if name.startswith("s3://"):
            from mtls_doctor.logs.s3 import fetch

            downloaded, passed_over = fetch(name, cache, progress)
            found += downloaded
            skipped += passed_over
        elif path.is_file():
            found.append(path)
        elif path.is_dir():
            for candidate in sorted(p for p in path.rglob("*") if p.is_file()):
                if FILE_NAME.match(candidate.name):
                    found.append(candidate)
                else:
                    skipped += 1
        else:
            raise InputError(f"{name} does not exist", "give log files or folders of them")
    return LogFiles(tuple(dict.fromkeys(found)), skipped)
