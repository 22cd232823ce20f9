"""Verdicts for people (text) and programs (the ``verify`` JSON of contract.md)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from mtls_doctor.report import RenderOptions
from mtls_doctor.report.text import printed, safe
from mtls_doctor.verify import Verdict


def to_dict(verdict: Verdict) -> dict[str, Any]:
    return {
        "tls_verify_status": verdict.tls_verify_status,
        "reason": verdict.reason,
        "fix": verdict.fix,
        "basis": verdict.basis,
        "chain": [{"subject": c.subject, "issuer": c.issuer, "serial": c.serial,
                   "sha256": c.sha256, "not_before": c.not_before, "not_after": c.not_after,
                   "source": c.source, "position": c.position} for c in verdict.chain],
        "anchor": verdict.anchor,
        "problems": [{"code": p.code.value, "certificate": p.certificate, "message": p.message,
                      "basis": p.basis} for p in verdict.problems],
        "notes": list(verdict.notes),
    }


def render_text(verdict: Verdict, options: RenderOptions) -> str:
    status = Text(verdict.tls_verify_status, style="bold green" if verdict.ok else "bold red")
    lines = [status,
             Text(f"  reason: {safe(verdict.reason)}"),
             Text(f"  fix:    {safe(verdict.fix)}", style="dim" if verdict.ok else ""),
             Text(f"  basis:  {verdict.basis}", style="dim")]
    if verdict.chain:
        lines.append(Text("Path (leaf first):", style="bold"))
        for i, cert in enumerate(verdict.chain, start=1):
            line = Text(f"  {i}. {safe(cert.subject)}")
            line.append(f"  [{cert.source} #{cert.position}]  {cert.not_before[:10]} .. "
                        f"{cert.not_after[:10]}", style="dim")
            if verdict.anchor is not None and i == len(verdict.chain):
                line.append("  anchor", style="cyan")
            lines.append(line)
    if len(verdict.problems) > 1:
        lines.append(Text("Other problems found:", style="bold"))
        for problem in verdict.problems[1:]:
            where = f"certificate {problem.certificate}: " if problem.certificate else ""
            lines.append(Text(f"  {problem.code.value} ({problem.basis}) {where}"
                              f"{safe(problem.message)}"))
    for note in verdict.notes:
        lines.append(Text(f"  note: {safe(note)}", style="yellow"))
    return printed(Text("\n").join(lines), options)
