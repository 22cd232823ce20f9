"""The command line: a click group whose subcommands are imported only when run.

This is the only package that parses arguments and prints. :func:`main` turns every
:class:`~mtls_doctor.errors.MtlsDoctorError` into one message and its exit code, and any other
exception into exit code 3 (with the traceback only under ``--debug``).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from mtls_doctor._version import __version__
from mtls_doctor.errors import MtlsDoctorError

_COMMANDS = {
    "check": ("mtls_doctor.cli.check", "Lint a trust store: CA bundle and CRLs."),
    "split": ("mtls_doctor.cli.split", "Write one file per certificate of a bundle."),
    "fix": ("mtls_doctor.cli.fix", "Write a bundle the API accepts, and say what was removed."),
    "verify": ("mtls_doctor.cli.verify", "Predict the load balancer's verdict for a client chain."),
    "logs": ("mtls_doctor.cli.logs", "Analyse connection logs: who fails, why, since when."),
    "aws": ("mtls_doctor.cli.aws", "Inspect, push and create live trust stores (boto3)."),
    "rules": ("mtls_doctor.cli.rules", "List every rule: id, severity, basis, what it checks."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        command: click.Command = importlib.import_module(_COMMANDS[cmd_name][0]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in _COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mtls-doctor")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
def cli(debug: bool) -> None:
    """Lint, fix and debug mutual TLS trust stores of AWS Application and Network Load Balancers.

    \b
    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage error,
    3 input unreadable or internal error.
    """


def _fail(message: str, fix: str | None, code: int) -> int:
    click.echo(f"mtls-doctor: {message}", err=True)
    if fix:
        click.echo(f"  fix: {fix}", err=True)
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (for tests and embedding)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result: Any = cli.main(args=args, prog_name="mtls-doctor", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        return _fail("aborted", None, 130)
    except MtlsDoctorError as exc:
        return _fail(exc.message, exc.fix, exc.exit_code)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if "--debug" in args:
            raise
        return _fail(f"internal error: {type(exc).__name__}: {exc}",
                     "run again with --debug and report the traceback", 3)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
