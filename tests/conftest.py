"""Shared fixtures: the openssl command line as an oracle, and the CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest


def require_program(name: str) -> str:
    """The program's path; skip (or fail in CI, where MTLS_DOCTOR_REQUIRE_ORACLES=1) if absent."""
    path = shutil.which(name)
    if path is None:
        reason = f"the {name} command line is not installed; .ci/run installs it"
        if os.environ.get("MTLS_DOCTOR_REQUIRE_ORACLES"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def openssl() -> Callable[..., str]:
    """Run ``openssl ARGS`` with bytes on stdin and return its standard output."""
    program = require_program("openssl")

    def run(*args: str, input: bytes = b"") -> str:
        done = subprocess.run([program, *args], input=input, capture_output=True, check=True)
        return done.stdout.decode()

    run.program = program  # type: ignore[attr-defined]
    return run
