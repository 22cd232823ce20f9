"""Connection-log lines and files for tests, with the counts a correct reader must find."""

from __future__ import annotations

import gzip
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

CODES = ("ClientCertMaxChainDepthExceeded", "ClientCertMaxSizeExceeded", "ClientCertCrlHit",
         "ClientCertCrlProcessingError", "ClientCertUntrusted", "ClientCertNotYetValid",
         "ClientCertExpired", "ClientCertTypeUnsupported", "ClientCertInvalid",
         "ClientCertPurposeInvalid", "ClientCertRejected", "UnmappedConnectionError",
         "ClientCertIncompatible")
SUBJECTS = ("CN=client-1.example.com,O=Example,C=US",
            "CN=client two,O=Example Corp\\, Inc.,L=New York,C=US",
            'CN=quoted ""nick"",O=Example,C=DE',
            "CN=plain")
START = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)


@dataclass
class Expected:
    """What the lines written so far add up to."""

    by_status: Counter[str] = field(default_factory=Counter)
    failing_subjects: Counter[str] = field(default_factory=Counter)
    malformed: int = 0


def entry(n: int, status: str, *, subject: str | None, fields: int = 15,
          when: datetime | None = None, client: str | None = None) -> str:
    """One entry line; ``fields`` is 12 (2023-era), 15 (current) or 16 (a trailing ``-``)."""
    moment = (when or START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    tls = status != "-"
    parts = [moment, client or f"203.0.113.{n % 250}", str(40000 + n), "443" if tls else "80",
             "TLSv1.3" if tls else "-", "TLS_AES_128_GCM_SHA256" if tls else "-",
             "0.012" if status == "Success" else "-",
             f'"{subject}"' if subject else '"-"',
             "NotBefore=2026-01-01T00:00:00Z;NotAfter=2027-01-01T00:00:00Z" if subject else "-",
             f"{n + 1:04X}" if subject else "-", status, f"TID_{n:032x}"]
    if fields >= 15:
        parts += ["X25519" if tls else "-", "app/my-lb/50dc6c495c0c9188", "10.0.0.5"]
    if fields >= 16:
        parts.append("-")
    return " ".join(parts)


def lines(count: int, seed: int = 7) -> tuple[list[str], Expected]:
    """A mix of every status, code, field count and subject, with malformed lines among them."""
    rng = random.Random(seed)
    expected = Expected()
    out = []
    for n in range(count):
        if n % 97 == 13:
            out.append(rng.choice(["garbage line", "2026-01-31T12:00:00Z only two",
                                   'half "quoted subject', ""]))
            expected.malformed += bool(out[-1])
            continue
        status = rng.choice(["Success", "Success", "-", *(f"Failed:{c}" for c in CODES)])
        subject = None if status == "-" else rng.choice([*SUBJECTS, None])
        out.append(entry(n, status, subject=subject, fields=rng.choice([12, 15, 15, 16])))
        expected.by_status[status] += 1
        if status.startswith("Failed:") and subject is not None:
            expected.failing_subjects[subject.replace('""', '"')] += 1
    return out, expected


def write(path: Path, text_lines: list[str], *, gz: bool = True) -> Path:
    data = ("\n".join(text_lines) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def aws_name(n: int) -> str:
    return (f"conn_log_123456789012_elasticloadbalancing_eu-west-1_app.my-lb.50dc6c495c0c9188_"
            f"20260131T12{n:02d}Z_10.0.0.5_abc{n:03d}.log.gz")
