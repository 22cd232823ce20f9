"""Options and output handling that several commands share."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mtls_doctor.errors import OutputError, UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mtls_doctor.check import Report
    from mtls_doctor.rules import Severity
    from mtls_doctor.truststore import Source


def parse_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """ISO 8601 (``2026-01-31T00:00:00Z``); a time without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as "
                                 "2026-01-31T00:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse_quotas(ctx: click.Context, param: click.Parameter,
                 values: tuple[str, ...]) -> dict[str, int]:
    """``NAME=N`` pairs, e.g. ``ca-certificates=50``."""
    quotas = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not number.strip().isdigit():
            raise click.BadParameter(f"{value!r} is not NAME=N (e.g. ca-certificates=50)")
        quotas[name.strip()] = int(number)
    return quotas


def check_rule_ids(ctx: click.Context, param: click.Parameter,
                   values: tuple[str, ...]) -> tuple[str, ...]:
    """Rule ids as in ``mtls-doctor rules``; a typo is a usage error, not a silent no-op."""
    from mtls_doctor.rules import RULES

    unknown = [v for v in values if v not in RULES]
    if unknown:
        raise click.BadParameter(f"unknown rule id {', '.join(unknown)} (see `mtls-doctor rules`)")
    return values


def same_file(a: str, b: str) -> bool:
    """Whether two paths name the same existing file."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def guard_output(output: str | None, inputs: list[str]) -> None:
    """Refuse an output that is one of the inputs."""
    if output in (None, "-"):
        return
    assert output is not None
    for path in inputs:
        if path != "-" and same_file(output, path):
            raise UsageError(f"the output {output} is the input file {path}; mtls-doctor never "
                             "overwrites its input", "choose another output file")


def write_atomic(path: str, data: bytes, *, force: bool = True) -> None:
    """Write a regular file via a temporary file in the same folder and a rename, so a crash
    leaves no half-written file. A symbolic link is followed; a device or pipe (``/dev/null``,
    ``/dev/stdout``) is written in place, never replaced. With ``force=False`` an existing file
    is refused (UsageError).
    """
    import tempfile

    target = Path(path)
    if not force and target.exists():
        raise UsageError(f"{path} already exists", "pass --force to replace it, or choose "
                         "another name")
    if target.is_dir():
        raise UsageError(f"{path} is a folder", "give a file name")
    target = target.resolve() if target.is_symlink() else target
    temporary: str | None = None
    try:
        if target.exists() and not target.is_file():
            with target.open("wb") as out:
                out.write(data)
            return
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if target.exists():
            shutil.copymode(target, temporary)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def emit(text: str, output: str | None) -> None:
    """Send a report to standard output, or write it to ``output``."""
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        assert output is not None
        write_atomic(output, text.encode("utf-8"))


def use_color(output: str | None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return output in (None, "-") and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def text_width(output: str | None) -> int:
    if output in (None, "-") and sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return 200


at_option = click.option("--at", "at", callback=parse_time, metavar="TIME",
                         help="Judge validity at this ISO 8601 time (default: now).")
profile_option = click.option("--profile", type=click.Choice(["alb", "nlb"]), default="alb",
                              show_default=True, help="Load balancer type.")
quota_option = click.option("--quota", "quotas", multiple=True, callback=parse_quotas,
                            metavar="NAME=N", help="A raised adjustable quota, e.g. "
                            "ca-certificates=50 (repeatable). See `mtls-doctor rules`.")
warn_days_option = click.option(
    "--warn-days", type=click.IntRange(min=0), default=30, show_default=True,
    help="Warn about CA certificates that expire within this many days.")
ignore_option = click.option(
    "--ignore", multiple=True, metavar="RULE", callback=check_rule_ids,
    help="Leave this rule's findings out (repeatable). `accepted` still counts them.")


def _severity(ctx: click.Context, param: click.Parameter, value: str) -> Severity | None:
    from mtls_doctor.rules import Severity

    return None if value == "never" else Severity(value)


fail_on_option = click.option(
    "--fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error",
    show_default=True, callback=_severity, help="Exit 1 when a finding is at least this severe.")
crl_option = click.option("--crl", "crls", multiple=True, metavar="FILE",
                          help="A CRL file of the trust store (repeatable).")


def load_and_check(bundle: Source, crls: Sequence[Source], *, profile: str,
                   at: datetime | None, quotas: dict[str, int], warn_days: int = 30,
                   ignore: tuple[str, ...] = ()) -> Report:
    """Load the trust store and check it; bad option values become usage errors."""
    from mtls_doctor.check import check_trust_store
    from mtls_doctor.truststore import load_trust_store

    if [bundle, *crls].count("-") > 1:
        raise UsageError("standard input ('-') can be read only once")
    store = load_trust_store(bundle, crls)
    try:
        return check_trust_store(store, profile=profile, at=at, warn_days=warn_days,
                                 ignore=ignore, quotas=quotas)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
