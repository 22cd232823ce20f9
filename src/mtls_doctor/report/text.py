"""Text for people: the bundle's hierarchy, a table of certificates, findings, the verdict.

Everything that comes from a file (subjects, file names, messages quoting them) is shown through
:func:`safe` and rich ``Text`` objects, so control characters and rich markup are shown, not obeyed.
"""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from mtls_doctor.check import Report
from mtls_doctor.facts import iso
from mtls_doctor.report import RenderOptions
from mtls_doctor.report.common import refusing_calls, verdict
from mtls_doctor.rules import Finding, Severity
from mtls_doctor.truststore import BundleCertificate

_STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_VERDICT_STYLES = {"rejected": "bold red", "warning": "yellow", "info": "cyan", "ok": "green"}


def safe(text: str) -> str:
    """Replace control and other non-printable characters with visible escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _label(cert: BundleCertificate) -> str:
    name = cert.facts.subject if cert.facts else f"(unparseable: {cert.problem})"
    return f"#{cert.index} {safe(name)}"


def _tree(report: Report) -> Tree:
    store = report.store
    issuers = store.issuers
    children: dict[int, list[BundleCertificate]] = {}
    tops: list[BundleCertificate] = []
    for cert in store.certificates:
        parent = issuers.get(cert.index)
        if parent is None or parent == cert.index:
            tops.append(cert)
        else:
            children.setdefault(parent, []).append(cert)
    tree = Tree(Text("Hierarchy", style="bold"))

    def add(node: Tree, cert: BundleCertificate, seen: frozenset[int]) -> None:
        text = Text(_label(cert))
        facts = cert.facts
        if facts is None:
            text.append("  [unparseable]", style="red")
        elif issuers.get(cert.index) == cert.index:
            text.append("  root", style="green")
        elif cert.index in issuers:
            text.append("  intermediate" if facts.is_ca else "  leaf (not a CA)",
                        style="dim" if facts.is_ca else "red")
        elif facts.is_ca:
            text.append("  partial-chain anchor: its issuer is not in the bundle", style="cyan")
        else:
            text.append("  orphan, not a CA", style="red")
        branch = node.add(text)
        for child in children.get(cert.index, []):
            if child.index not in seen:
                add(branch, child, seen | {child.index})

    for cert in tops:
        add(tree, cert, frozenset({cert.index}))
    return tree


def _key(cert: BundleCertificate) -> str:
    if cert.facts is None:
        return ""
    key = cert.facts.key
    return f"{key.type} {key.curve or key.bits or ''}".strip()


_COLUMNS = ("#", "line", "subject", "key", "signature", "not after", "CA", "pathlen", "EKU",
            "verdict")
_SUBJECT = _COLUMNS.index("subject")


def _row(report: Report, cert: BundleCertificate) -> list[str]:
    facts = cert.facts
    cells = [str(cert.index), str(cert.line or "-")]
    if facts is None:
        cells += [safe(f"(unparseable: {cert.problem})"), "", "", "", "", "", ""]
    else:
        cells += [safe(facts.subject), _key(cert), facts.signature_algorithm,
                  (iso(facts.not_after) or "")[:10],
                  {True: "yes", False: "no", None: "-"}[facts.is_ca],
                  "-" if facts.path_length is None else str(facts.path_length),
                  ",".join(facts.extended_key_usage) if facts.extended_key_usage else "-"]
    return [*cells, verdict(report.for_certificate(cert.index))]


def _table(report: Report, width: int) -> Table:
    """One row per certificate. Column widths are computed here, not measured by rich, which
    keeps a 100-row table fast; only the subject column folds."""
    rows = [_row(report, cert) for cert in report.store.certificates]
    widths = [max(cell_len(h), *(cell_len(r[i]) for r in rows)) for i, h in enumerate(_COLUMNS)]
    others = sum(widths) - widths[_SUBJECT] + 3 * len(_COLUMNS) + 1
    widths[_SUBJECT] = max(20, min(widths[_SUBJECT], width - others))
    table = Table(header_style="bold")
    for i, column in enumerate(_COLUMNS):
        table.add_column(column, width=widths[i], no_wrap=i != _SUBJECT, overflow="fold")
    for row in rows:
        table.add_row(*(Text(c) for c in row[:-1]),
                      Text(row[-1], style=_VERDICT_STYLES[row[-1]]))
    return table


def _finding_lines(findings: tuple[Finding, ...]) -> list[Text]:
    lines = []
    for f in findings:
        where = f"line {f.line}: " if f.line else ""
        head = Text("  ")
        head.append(f"{f.severity.value.upper():7}", style=_STYLES[f.severity])
        head.append(f" {f.rule} ", style="bold")
        head.append(f"({f.basis.value}) ", style="dim")
        head.append(safe(where + f.message))
        lines += [head, Text("          fix: " + safe(f.fix), style="dim")]
    return lines


def _findings(report: Report) -> list[Text]:
    out: list[Text] = []
    general = report.general()
    if general:
        out.append(Text(f"Bundle {safe(report.store.bundle)}", style="bold"))
        out += _finding_lines(general)
    for cert in report.store.certificates:
        found = report.for_certificate(cert.index)
        if found:
            where = f" (line {cert.line})" if cert.line else ""
            out.append(Text(_label(cert) + where, style="bold"))
            out += _finding_lines(found)
    for crl in report.store.crls:
        found = report.for_crl(crl.index)
        if found:
            out.append(Text(f"CRL #{crl.index} {safe(crl.file)}", style="bold"))
            out += _finding_lines(found)
    return out


def _crls(report: Report) -> Table | None:
    if not report.store.crls:
        return None
    table = Table(header_style="bold")
    for column in ("#", "file", "issuer", "next update", "entries", "issuer in bundle",
                   "verdict"):
        table.add_column(column, overflow="fold")
    for crl in report.store.crls:
        facts = crl.facts
        issuer = report.store.crl_issuer(facts) if facts else None
        result = verdict(report.for_crl(crl.index))
        table.add_row(Text(str(crl.index)), Text(safe(crl.file)),
                      Text(safe(facts.issuer) if facts else f"(unparseable: {crl.problem})"),
                      Text((iso(facts.next_update) or "none") if facts else ""),
                      Text(f"{facts.entries:,}" if facts else ""),
                      Text(f"#{issuer.index}" if issuer else "no"),
                      Text(result, style=_VERDICT_STYLES[result]))
    return table


def _verdict(report: Report) -> Text:
    counts = (f"{report.count(Severity.ERROR)} error(s), {report.count(Severity.WARNING)} "
              f"warning(s), {report.count(Severity.INFO)} info")
    if report.accepted:
        text = Text("ACCEPTED", style="bold green")
        text.append(f": the API would accept these files ({counts}).")
    else:
        text = Text("REJECTED", style="bold red")
        text.append(f": {' and '.join(refusing_calls(report))} would refuse these files "
                    f"({counts}).")
    if report.ignored:
        text.append(f" Ignored rules: {', '.join(report.ignored)}.", style="dim")
    return text


def printed(renderable: RenderableType, options: RenderOptions) -> str:
    """What rich prints for ``renderable``, as text: colours only if asked, markup never."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=options.width, color_system="auto" if options.color
                      else None, force_terminal=options.color, no_color=not options.color,
                      highlight=False, emoji=False, markup=False)
    console.print(renderable)
    return buffer.getvalue()


def render(report: Report, options: RenderOptions) -> str:
    store = report.store
    header = Text(f"Trust store {safe(store.bundle)}: {len(store.certificates)} certificate(s), "
                  f"{len(store.crls)} CRL(s); profile {report.profile.name}, checked at "
                  f"{iso(report.at)}", style="bold")
    parts: list[RenderableType] = [header]
    if store.certificates:
        parts += [_tree(report), _table(report, options.width)]
    crl_table = _crls(report)
    if crl_table is not None:
        parts.append(crl_table)
    findings = _findings(report)
    if findings:  # one Text wraps much faster than hundreds of small ones
        parts += [Text("Findings", style="bold underline"), Text("\n").join(findings)]
    parts.append(_verdict(report))
    return printed(Group(*parts), options)
