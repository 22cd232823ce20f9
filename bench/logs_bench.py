"""Benchmark `mtls-doctor logs summarize` against the gzip floor and the zcat | awk recipe.

Built first, not timed: N realistic connection-log lines (15 fields; 72 % Success, 10 % plain
HTTP, 5 % TLS without a client certificate, 13 % Failed:* over 8 codes; subjects with spaces and
`\\,`; 5,000 clients), written as one gzip file and, the same lines in order, as 8 gzip files
(level 6, as gzip and the load balancer write them). Timed as whole processes
(`time.perf_counter`, median and min of --repeat runs), on one file and on the 8 files:

* ours:  `mtls-doctor logs summarize FILES --format json -o /dev/null`
* floor: `zcat FILES > /dev/null`, the least any reader of the files pays (one core)
* awk:   `zcat FILES | mawk -F'"' '{split($3,a," "); c[a[3]]++} END {...}'`, the quote-aware
         count per tls_verify_status (gawk or awk when there is no mawk)

Targets: ours/floor <= 1.3 on one file, and < 1.0 on the 8 files (DuckDB reads files in
parallel; zcat uses one core). Before timing, the counts per status of ours and of awk are checked
against the generator's. Ours' peak RSS is measured in one more, untimed run.

Run from the repository root with the venv interpreter (about 2 minutes, most of it writing the
data; --data DIR keeps the data and reuses it):

    .venv/bin/python bench/logs_bench.py [--lines 2000000] [--repeat 5] [--data DIR] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import BenchError, finish, precompile

PARTS = 8
CODES = ("ClientCertExpired", "ClientCertUntrusted", "ClientCertRejected", "ClientCertCrlHit",
         "ClientCertNotYetValid", "ClientCertInvalid", "ClientCertPurposeInvalid",
         "UnmappedConnectionError")
AWK_PROGRAM = '{split($3,a," "); c[a[3]]++} END {for (k in c) print k, c[k]}'
PEAK = ("import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def generate(count: int, seed: int) -> tuple[list[bytes], Counter[str]]:
    """``count`` lines in blocks (one per second of traffic) and the count per status."""
    rng = random.Random(seed)
    subjects = [f"CN=client-{i}.example.com,OU=Team {i % 7},O=Example Corp\\, Inc.,L=New York,"
                "C=US" for i in range(500)]
    clients = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
               for _ in range(5000)]
    statuses = ["Success", "plain", "nocert"] + [f"Failed:{c}" for c in CODES]
    weights = [72, 10, 5] + [13 / len(CODES)] * len(CODES)
    kinds = rng.choices(statuses, weights, k=count)
    validity = "NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z"
    tail = "app/my-lb/50dc6c495c0c9188 10.0.0.5"
    start = datetime(2026, 1, 31, tzinfo=UTC)
    counts: Counter[str] = Counter()
    blocks: list[bytes] = []
    per_second = 25
    for first in range(0, count, per_second):
        second = (start + timedelta(seconds=first // per_second)).strftime("%Y-%m-%dT%H:%M:%S")
        lines = []
        for n in range(first, min(first + per_second, count)):
            kind = kinds[n]
            moment = f"{second}.{rng.randrange(1_000_000):06d}Z"
            client = f"{rng.choice(clients)} {rng.randrange(1024, 65536)}"
            trace = f"TID_{rng.getrandbits(128):032x}"
            if kind == "plain":
                lines.append(f'{moment} {client} 80 - - - "-" - - - {trace} - {tail}')
                counts["-"] += 1
            elif kind == "nocert":
                lines.append(f'{moment} {client} 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.{n % 997:03d}'
                             f' "-" - - - {trace} X25519 {tail}')
                counts["-"] += 1
            else:
                lines.append(f'{moment} {client} 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.{n % 997:03d}'
                             f' "{rng.choice(subjects)}" {validity} {rng.getrandbits(64):016X}'
                             f' {kind} {trace} X25519 {tail}')
                counts[kind] += 1
        blocks.append(("\n".join(lines) + "\n").encode())
    return blocks, counts


def compress(path: Path, blocks: list[bytes]) -> None:
    with gzip.open(path, "wb", compresslevel=6) as out:
        for i in range(0, len(blocks), 200):
            out.write(b"".join(blocks[i:i + 200]))


def write_data(directory: Path, count: int, seed: int) -> tuple[Path, list[Path], Counter[str]]:
    """One gzip file and the same lines as PARTS files; reused when ``directory`` has them."""
    manifest = directory / "manifest.json"
    one, parts = directory / "conn_log_all.log.gz", [directory / f"conn_log_part{i}.log.gz"
                                                     for i in range(PARTS)]
    if manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved["lines"] == count and saved["seed"] == seed:
            return one, parts, Counter(saved["counts"])
    directory.mkdir(parents=True, exist_ok=True)
    blocks, counts = generate(count, seed)
    chunks = [blocks[i * len(blocks) // PARTS:(i + 1) * len(blocks) // PARTS]
              for i in range(PARTS)]
    jobs = [(one, blocks), *zip(parts, chunks, strict=True)]
    with ThreadPoolExecutor(2) as pool:  # zlib lets go of the GIL
        list(pool.map(lambda job: compress(*job), jobs))
    manifest.write_text(json.dumps({"lines": count, "seed": seed, "counts": counts}))
    return one, parts, counts


def ours_command() -> list[str]:
    exe = Path(sys.executable).parent / "mtls-doctor"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mtls_doctor"]


def run(cmd: list[str] | str, label: str, shell: bool = False) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, shell=shell)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise BenchError(f"{label}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return elapsed, proc.stdout


def measure(cmd: list[str] | str, repeat: int, label: str) -> dict:
    shell = isinstance(cmd, str)
    run(cmd, label, shell)  # warm-up: the files in the page cache, the code compiled
    times = [run(cmd, label, shell)[0] for _ in range(repeat)]
    return {"median": statistics.median(times), "min": min(times), "runs": times}


def bench(args: argparse.Namespace) -> dict:
    precompile()
    zcat, awk = shutil.which("zcat"), shutil.which("mawk") or shutil.which("gawk") or \
        shutil.which("awk")
    if zcat is None or awk is None:
        raise BenchError("zcat and an awk (mawk, gawk or awk) must be on PATH")
    with tempfile.TemporaryDirectory(prefix="logs-bench-") as tmp:
        directory = Path(args.data) if args.data else Path(tmp)
        started = time.perf_counter()
        one, parts, counts = write_data(directory, args.lines, args.seed)
        built = time.perf_counter() - started
        size = one.stat().st_size
        sets = {"1": [str(one)], str(PARTS): [str(p) for p in parts]}
        results: dict[str, dict] = {}
        peaks: dict[str, int] = {}
        for name, files in sets.items():
            ours = [*ours_command(), "logs", "summarize", *files, "--format", "json"]
            summary = json.loads(run(ours, "ours")[1])
            if summary["by_status"] != dict(counts) or summary["malformed_lines"] != 0:
                raise BenchError(f"ours counted {summary['by_status']}, not {dict(counts)}")
            pipeline = f"{zcat} {' '.join(files)} | {awk} -F'\"' '{AWK_PROGRAM}'"
            tallied = dict(line.rsplit(" ", 1) for line in run(pipeline, "awk", True)[1]
                           .splitlines())
            if {k: int(v) for k, v in tallied.items()} != dict(counts):
                raise BenchError(f"awk counted {tallied}, not {dict(counts)}")
            results[f"ours-{name}"] = measure([*ours, "-o", "/dev/null"], args.repeat, "ours")
            results[f"floor-{name}"] = measure(f"{zcat} {' '.join(files)} > /dev/null",
                                               args.repeat, "floor")
            results[f"awk-{name}"] = measure(pipeline, args.repeat, "awk")
            peak = run([sys.executable, "-c", PEAK, *ours, "-o", "/dev/null"], "peak")[1]
            peaks[f"ours-{name}"] = int(peak.split()[-1]) // 1024
    ratios = {}
    for name in sets:
        ours = results[f"ours-{name}"]["median"]
        ratios[f"ours-{name}/floor-{name}"] = ours / results[f"floor-{name}"]["median"]
        ratios[f"ours-{name}/awk-{name}"] = ours / results[f"awk-{name}"]["median"]
    env = {"lines": args.lines, "files": f"1 and {PARTS}", "gzip_mb": size / 1e6,
           "data_build_s": built, "awk": awk, "python": sys.version.split()[0],
           "ours": " ".join(ours_command()), "peak_rss_mb": peaks}
    return {**env, "results": results, "ratios": ratios}


TARGETS = {"ours-1/floor-1": 1.3, f"ours-{PARTS}/floor-{PARTS}": 1.0}


def met(name: str, value: float) -> str:
    if name not in TARGETS:
        return "(for information)"
    limit = TARGETS[name]
    ok = value <= limit if limit > 1 else value < limit
    return f"{'<=' if limit > 1 else '<'} {limit}x {'ok' if ok else 'MISSED'}"


def print_table(data: dict) -> None:
    print(f"{data['lines']:,} lines ({data['gzip_mb']:.0f} MB gzip), as 1 file and as {PARTS}; "
          f"awk: {data['awk']}; python: {data['python']}; data built in "
          f"{data['data_build_s']:.0f} s")
    print("peak RSS of ours: " + ", ".join(f"{k} {v} MB" for k, v in
                                           data["peak_rss_mb"].items()))
    print(f"\n{'measurement':<14}{'runs':>6}{'median s':>11}{'min s':>10}")
    for name, r in data["results"].items():
        print(f"{name:<14}{len(r['runs']):>6}{r['median']:>11.3f}{r['min']:>10.3f}")
    print(f"\n{'ratio (medians)':<22}{'value':>9}  target")
    for name, value in data["ratios"].items():
        print(f"{name:<22}{value:>8.2f}x  {met(name, value)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000, metavar="N")
    parser.add_argument("--repeat", type=int, default=5, metavar="N")
    parser.add_argument("--seed", type=int, default=1, metavar="N")
    parser.add_argument("--data", metavar="DIR", help="keep the generated logs in DIR and reuse "
                        "them on the next run (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.lines < PARTS:
        parser.error(f"--repeat must be at least 1 and --lines at least {PARTS}")
    return finish("logs_bench", args, bench, print_table)


if __name__ == "__main__":
    sys.exit(main())
