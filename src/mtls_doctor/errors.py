"""The one error family: every error carries a message for the user and, when known, the fix."""

from __future__ import annotations


class MtlsDoctorError(Exception):
    """Base class. ``exit_code`` is what the CLI returns; ``fix`` says what the user can do."""

    exit_code = 3

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class InputError(MtlsDoctorError):
    """An input file cannot be read at all (missing, a folder, too large, permission denied)."""


class UsageError(MtlsDoctorError):
    """The command line asks for something impossible (exit code 2)."""

    exit_code = 2


class OutputError(MtlsDoctorError):
    """An output cannot be written, or writing it would destroy something the user owns."""
