"""What both benchmarks do the same way: run, report failures to run, print table or JSON."""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import sys
from collections.abc import Callable
from typing import Any


class BenchError(Exception):
    """Something the benchmark needs could not run."""


def finish(name: str, args: argparse.Namespace, bench: Callable[[argparse.Namespace], Any],
           print_table: Callable[[Any], None]) -> int:
    """Run ``bench`` and print its results; exit code 1 when it could not run."""
    try:
        data = bench(args)
    except (BenchError, OSError, ValueError) as exc:
        print(f"{name}: cannot run: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print_table(data)
    return 0


def precompile() -> None:
    """Byte-compile mtls_doctor as a wheel install would, so an editable install (maybe with
    PYTHONDONTWRITEBYTECODE set) does not recompile it on every timed run."""
    spec = importlib.util.find_spec("mtls_doctor")
    if spec is None or not spec.submodule_search_locations:
        raise BenchError("mtls_doctor is not installed in this interpreter")
    compileall.compile_dir(spec.submodule_search_locations[0], quiet=1)
