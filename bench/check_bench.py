"""Benchmark `mtls-doctor check` against the manual openssl procedure and a parsing floor.

Three things are timed as whole processes (wall clock, `time.perf_counter`, several runs,
median and min reported), all on the Mozilla bundle shipped by certifi:

* ours:  `mtls-doctor check BUNDLE --format text|json -o /dev/null` (exit 1 is expected:
  the Mozilla bundle breaks the load balancer's quotas; only 2 and 3 count as failures).
* seed:  the manual procedure from AWS re:Post, as one bash script: split the bundle with
  gawk (or awk) into cert.N.pem, then six `openssl x509` calls per certificate.
* floor: `python -c` that reads the bundle and parses it with
  `cryptography.x509.load_pem_x509_certificates`, the least any Python tool pays.

Then the ratios seed/ours (target >= 50x) and ours/floor (target <= 2x) are printed.

Run from the repository root with the venv interpreter:

    .venv/bin/python bench/check_bench.py [--repeat-ours 7] [--repeat-seed 2] [--json]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import certifi

from common import BenchError, finish, precompile

SEED_SCRIPT = r"""
cd "$1" || exit 1
"$2" 'split_after == 1 {n++;split_after=0} /-----END CERTIFICATE-----/ {split_after=1} {print > "cert." n+1 ".pem"}' < "$3"
fail=0
for f in cert.*.pem; do
  openssl x509 -in "$f" -noout -subject || fail=1
  openssl x509 -in "$f" -noout -dates || fail=1
  openssl x509 -in "$f" -noout -text | grep "Public-Key"
  openssl x509 -in "$f" -noout -text | grep -A1 "Basic Constraints"
  openssl x509 -in "$f" -noout -text | grep -A1 "Extended Key Usage"
  openssl x509 -in "$f" -noout -text | grep "Signature Algorithm"
done
exit $fail
"""  # noqa: E501

FLOOR_CODE = (
    "import sys, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "from cryptography import x509\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "print(len(x509.load_pem_x509_certificates(data)))\n"
)


def ours_command() -> list[str]:
    exe = Path(sys.executable).parent / "mtls-doctor"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mtls_doctor"]


def run(cmd: list[str], ok: set[int], label: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise BenchError(f"{label}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return elapsed, proc.stdout


def measure(
    cmd_for_run: Callable[[], list[str]], repeat: int, ok: set[int], label: str, warmup: bool
) -> dict:
    if warmup:
        run(cmd_for_run(), ok, label)
    times = [run(cmd_for_run(), ok, label)[0] for _ in range(repeat)]
    return {"median": statistics.median(times), "min": min(times), "runs": times}


def bench(args: argparse.Namespace) -> dict:
    precompile()
    bundle = str(Path(args.bundle).resolve())
    openssl, bash = shutil.which("openssl"), shutil.which("bash")
    awk = shutil.which("gawk") or shutil.which("awk")
    missing = [n for n, p in (("openssl", openssl), ("bash", bash), ("awk", awk)) if not p]
    if missing:
        raise BenchError(f"not found on PATH: {', '.join(missing)}")
    version = subprocess.run([openssl, "version"], capture_output=True, text=True).stdout
    floor_cmd = [sys.executable, "-c", FLOOR_CODE, bundle]
    count = int(run(floor_cmd, {0}, "floor")[1].strip())
    results: dict[str, dict] = {}
    for fmt in ("text", "json"):
        cmd = [*ours_command(), "check", bundle, "--format", fmt, "-o", "/dev/null"]
        results[f"ours-{fmt}"] = measure(lambda c=cmd: c, args.repeat_ours, {0, 1}, fmt, True)
    results["floor"] = measure(lambda: floor_cmd, args.repeat_floor, {0}, "floor", True)
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        dirs = iter(tempfile.mkdtemp(dir=tmp) for _ in range(args.repeat_seed))
        seed_cmd = lambda: [bash, "-c", SEED_SCRIPT, "seed", next(dirs), awk, bundle]  # noqa: E731
        results["seed"] = measure(seed_cmd, args.repeat_seed, {0}, "seed", False)
        files = len(list(Path(tmp).glob("*/cert.*.pem"))) // args.repeat_seed
    if files != count:
        print(f"warning: awk split {files} files, cryptography parsed {count}", file=sys.stderr)
    seed, floor = results["seed"]["median"], results["floor"]["median"]
    ratios = {}
    for fmt in ("text", "json"):
        ours = results[f"ours-{fmt}"]["median"]
        ratios[f"seed/ours-{fmt}"] = seed / ours
        ratios[f"ours-{fmt}/floor"] = ours / floor
    used = awk if Path(awk).name == "gawk" else f"{awk} (-> {Path(awk).resolve().name}; no gawk)"
    env = {"bundle": bundle, "certificates": count, "awk": used, "openssl": version.strip()}
    env |= {"python": sys.version.split()[0], "ours": " ".join(ours_command())}
    return {**env, "results": results, "ratios": ratios}


def print_table(data: dict) -> None:
    print(f"bundle: {data['bundle']} ({data['certificates']} certificates)")
    print(f"awk: {data['awk']}   openssl: {data['openssl']}   python: {data['python']}")
    print(f"\n{'measurement':<14}{'runs':>6}{'median s':>11}{'min s':>10}")
    for name, r in data["results"].items():
        print(f"{name:<14}{len(r['runs']):>6}{r['median']:>11.3f}{r['min']:>10.3f}")
    print(f"\n{'ratio (medians)':<22}{'value':>9}  target")
    for name, value in data["ratios"].items():
        target = ">= 50x" if name.startswith("seed") else "<= 2x"
        met = value >= 50 if name.startswith("seed") else value <= 2
        print(f"{name:<22}{value:>8.1f}x  {target} {'ok' if met else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=certifi.where(), help="PEM bundle (default: certifi)")
    parser.add_argument("--repeat-ours", type=int, default=7, metavar="N")
    parser.add_argument("--repeat-floor", type=int, default=7, metavar="N")
    parser.add_argument("--repeat-seed", type=int, default=2, metavar="N")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if min(args.repeat_ours, args.repeat_floor, args.repeat_seed) < 1:
        parser.error("repeat counts must be at least 1")
    return finish("check_bench", args, bench, print_table)

if __name__ == "__main__":
    sys.exit(main())
