"""``logs summarize --format html``: one self-contained page of charts, then the tables.

The charts are inline SVG drawn here: nothing is fetched when the page is viewed (no script,
font or stylesheet; the page's Content-Security-Policy forbids it). Every chart is an
``<svg data-chart="...">``; each series carries ``data-series``, each bar ``data-label``, and
both ``data-value``, so the numbers can be read back by a program, and a ``<title>`` tooltip
for a person. Every text from the logs is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from mtls_doctor.logs.reader import LoadedLogs
from mtls_doctor.logs.summary import Filters

MAX_HOURS = 168
"""The failures-per-hour chart and table show at most the last this many hours."""
PALETTE = ("#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#e7ba52")
_WIDTH = 960
_HOUR = "%Y-%m-%dT%H:%M:%SZ"
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1000px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
svg{display:block;max-width:100%;height:auto}svg text{font-size:11px;fill:#333}
.grid{stroke:#e5e5e5}.note{color:#666}ul.legend{list-style:none;padding:0;margin:.5em 0}
ul.legend li{display:inline-block;margin:0 1.2em .3em 0}
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.2em .8em;text-align:left;
border-bottom:1px solid #eee;vertical-align:top}td.n,th.n{text-align:right}
"""


# The connections columns render_html reads, beyond summarize's.
COLUMNS = ("time", "failure_code", "status", "tls_protocol", "tls_handshake_latency")


def render_html(logs: LoadedLogs, summary: dict[str, Any], filters: Filters | None = None) -> str:
    """The summary as one HTML page. ``filters`` must be those ``summary`` was computed with,
    so that the charts (which query ``logs.database``) count the same connections."""
    where, values = (filters or Filters()).where()
    hourly = logs.database.execute(
        "SELECT date_trunc('hour', time), failure_code, count(*) FROM connections "
        f"WHERE status = 'Failed' AND {where} GROUP BY ALL ORDER BY 1, 2", values).fetchall()
    latency = logs.database.execute(
        "SELECT coalesce(tls_protocol, '-'), count(*), quantile_cont(tls_handshake_latency, 0.5),"
        " quantile_cont(tls_handshake_latency, 0.9), max(tls_handshake_latency) FROM connections"
        f" WHERE tls_handshake_latency IS NOT NULL AND {where} GROUP BY 1 ORDER BY 1",
        values).fetchall()
    codes = [s.removeprefix("Failed:") for s in summary["by_status"] if s.startswith("Failed:")]
    codes += sorted({c for _, c, _ in hourly} - set(codes))
    colors = {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(codes)}
    hours, note = _hours(summary)
    head = (f"{summary['connections']:,} connections in {summary['files']} file(s), "
            f"{summary['failures']:,} failed, {summary['malformed_lines']:,} malformed lines; "
            f"{summary['first_seen'] or '-'} .. {summary['last_seen'] or '-'} (UTC)")
    chosen = [f"{k}={getattr(filters, k)}" for k in ("since", "until", "status", "client_ip")
              if filters is not None and getattr(filters, k) is not None]
    body = [f"<h1>mTLS connection logs</h1><p>{escape(head)}</p>"]
    if chosen:
        body.append(f"<p class='note'>Only connections with {escape(', '.join(chosen))}.</p>")
    body += [f"<p class='note'>Damaged file {escape(d['file'])}: {escape(d['error'])}</p>"
             for d in summary.get("damaged_files", [])]
    legend = "".join(f"<li data-series='{escape(c)}'><span class='swatch' style='background:"
                     f"{colors[c]}'></span>{escape(c)}</li>" for c in codes)
    body += ["<h2>Failures per hour, by failure code</h2>", note,
             _stacked(hours, hourly, codes, colors), f"<ul class='legend'>{legend}</ul>",
             "<h2>Top failing subjects</h2>",
             _bars("top-subjects", summary["top_failing_subjects"], "subject", colors),
             "<h2>Top failing clients</h2>",
             _bars("top-clients", summary["top_failing_clients"], "client_ip", colors),
             "<h2>Handshake latency by TLS version</h2>", _latency(latency),
             "<h2>Connections by tls_verify_status</h2>",
             _table(["tls_verify_status", "connections"], summary["by_status"].items())]
    for key, title in (("subject", "subjects"), ("client_ip", "clients")):
        rows = [(r[key], r["count"], ", ".join(f"{s} {n:,}" for s, n in r["statuses"].items()))
                for r in summary[f"top_failing_{title}"]]
        body += [f"<h2>Top failing {title}</h2>", _table([key, "failures", "statuses"], rows)]
    since = hours[0].strftime(_HOUR) if hours else ""
    shown = [(h["hour"], h["total"], h["failures"]) for h in summary["by_hour"]
             if h["hour"] >= since]
    body += ["<h2>By hour</h2>", note, _table(["hour", "connections", "failures"], shown)]
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>mtls-doctor: connection logs</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _hours(summary: dict[str, Any]) -> tuple[list[datetime], str]:
    """Every hour from the first to the last (at most :data:`MAX_HOURS`), and a note if capped."""
    if not summary["by_hour"]:
        return [], ""
    first, last = (datetime.strptime(summary["by_hour"][i]["hour"], _HOUR) for i in (0, -1))
    total = (last - first) // timedelta(hours=1) + 1
    count = min(total, MAX_HOURS)
    hours = [last - timedelta(hours=count - 1 - i) for i in range(count)]
    if total <= MAX_HOURS:
        return hours, ""
    return hours, (f"<p class='note' data-capped='{total}'>Showing the last {MAX_HOURS} of "
                   f"{total:,} hours; the JSON format has them all.</p>")


def _nice(top: float) -> float:
    """The smallest round number (1, 1.2, 1.6, 2, ... 8 × 10ⁿ) at least ``top``: an axis's end."""
    if top <= 0:
        return 1.0
    unit = 10.0 ** math.floor(math.log10(top))
    return next(m * unit for m in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10) if m * unit >= top)


def _svg(chart: str, height: float, inner: list[str]) -> str:
    return (f"<svg data-chart='{chart}' role='img' "
            f"viewBox='0 0 {_WIDTH} {height:.0f}' width='{_WIDTH}' height='{height:.0f}'>"
            + "".join(inner) + "</svg>")


def _stacked(hours: list[datetime], hourly: list[tuple[Any, ...]], codes: list[str],
             colors: dict[str, str]) -> str:
    """Failures per hour, one stacked bar per hour, one colour per failure code."""
    left, top, plot_w, plot_h = 50.0, 10.0, _WIDTH - 60.0, 260.0
    index = {h: i for i, h in enumerate(hours)}
    counts = [(index[h], code, n) for h, code, n in hourly if h in index]
    totals = [0] * len(hours)
    for i, _, n in counts:
        totals[i] += n
    scale = _nice(max(totals, default=0))
    slot = plot_w / max(len(hours), 1)
    inner = []
    for k in range(5):
        y = top + plot_h * (1 - k / 4)
        inner.append(f"<line class='grid' x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' "
                     f"y2='{y:.1f}'/><text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end'>"
                     f"{scale * k / 4:,g}</text>")
    step = math.ceil(len(hours) / 12) or 1
    for i in range(0, len(hours), step):
        inner.append(f"<text x='{left + slot * (i + .5):.1f}' y='{top + plot_h + 16}' "
                     f"text-anchor='middle'>{hours[i]:%m-%d %H:00}</text>")
    base = [0] * len(hours)
    for code in codes:
        rects = []
        for i, _, n in (c for c in counts if c[1] == code):
            base[i] += n
            y, h = top + plot_h * (1 - base[i] / scale), plot_h * n / scale
            rects.append(f"<rect x='{left + slot * (i + .1):.2f}' y='{y:.2f}' width='"
                         f"{slot * .8:.2f}' height='{h:.2f}' data-hour='{hours[i]:{_HOUR}}' "
                         f"data-value='{n}'><title>{hours[i]:%Y-%m-%d %H:00} UTC, "
                         f"{escape(code)}: {n:,}</title></rect>")
        if rects:
            inner.append(f"<g data-series='{escape(code)}' data-value='"
                         f"{sum(n for _, c, n in counts if c == code)}' fill='{colors[code]}'>"
                         + "".join(rects) + "</g>")
    if not counts:
        inner.append(f"<text x='{_WIDTH / 2}' y='{top + plot_h / 2}' text-anchor='middle'>"
                     "No failures in this window</text>")
    return _svg("failures-by-hour", top + plot_h + 26, inner)


def _bars(chart: str, rows: list[dict[str, Any]], key: str, colors: dict[str, str]) -> str:
    """One horizontal bar per row, split by failure code in the stacked chart's colours."""
    left, bar_w, row_h = 330.0, _WIDTH - 400.0, 24.0
    scale = _nice(max((r["count"] for r in rows), default=0))
    inner = []
    for i, row in enumerate(rows):
        label, y, x = str(row[key]), 4 + i * row_h, left
        short = label if len(label) <= 52 else label[:51] + "…"
        parts = ", ".join(f"{s} {n:,}" for s, n in row["statuses"].items())
        inner.append(f"<g data-label='{escape(label)}' data-value='{row['count']}'><title>"
                     f"{escape(label)}: {row['count']:,} failures ({escape(parts)})</title>"
                     f"<text x='{left - 8}' y='{y + 15}' text-anchor='end'>{escape(short)}</text>")
        order = list(colors)
        for status, n in sorted(row["statuses"].items(), key=lambda s: _rank(order, s[0])):
            code, w = status.removeprefix("Failed:"), bar_w * n / scale
            inner.append(f"<rect x='{x:.2f}' y='{y + 3}' width='{w:.2f}' height='{row_h - 6}' "
                         f"fill='{colors.get(code, '#999')}' data-series='{escape(code)}' "
                         f"data-value='{n}'><title>{escape(code)}: {n:,}</title></rect>")
            x += w
        inner.append(f"<text x='{x + 6:.2f}' y='{y + 15}'>{row['count']:,}</text></g>")
    if not rows:
        inner.append(f"<text x='{_WIDTH / 2}' y='20' text-anchor='middle'>No failures</text>")
    return _svg(chart, 8 + max(len(rows), 1) * row_h, inner)


def _rank(codes: list[str], status: str) -> tuple[int, str]:
    """Segments in the legend's order, so a code sits at the same place in every bar."""
    code = status.removeprefix("Failed:")
    return (codes.index(code) if code in codes else len(codes), code)


def _latency(rows: list[tuple[Any, ...]]) -> str:
    """Per TLS version: a pale bar to p90, a dark bar to p50, a tick at the maximum (in ms)."""
    left, bar_w, row_h = 100.0, _WIDTH - 300.0, 30.0
    scale = _nice(max((r[4] * 1000 for r in rows), default=0))
    inner = []
    for i, (protocol, count, p50, p90, peak) in enumerate(rows):
        y = 4 + i * row_h
        ms = [v * 1000 for v in (p50, p90, peak)]
        x50, x90, xmax = (left + bar_w * v / scale for v in ms)
        text = f"p50 {ms[0]:,.1f} ms, p90 {ms[1]:,.1f} ms, max {ms[2]:,.1f} ms"
        inner.append(f"<g data-label='{escape(protocol)}' data-value='{p50!r}' data-p50='{p50!r}'"
                     f" data-p90='{p90!r}' data-max='{peak!r}' data-count='{count}'><title>"
                     f"{escape(protocol)}: {count:,} handshakes, {text}</title>"
                     f"<text x='{left - 8}' y='{y + 18}' text-anchor='end'>"
                     f"{escape(protocol)}</text>"
                     f"<rect x='{left}' y='{y + 4}' width='{x90 - left:.2f}' height='{row_h - 8}' "
                     f"fill='#9ecae1'/><rect x='{left}' y='{y + 4}' width='{x50 - left:.2f}' "
                     f"height='{row_h - 8}' fill='#3182bd'/><line x1='{xmax:.2f}' x2='{xmax:.2f}'"
                     f" y1='{y + 2}' y2='{y + row_h - 2}' stroke='#08306b' stroke-width='2'/>"
                     f"<text x='{xmax + 6:.2f}' y='{y + 18}'>{text}</text></g>")
    if not rows:
        inner.append(f"<text x='{_WIDTH / 2}' y='20' text-anchor='middle'>No handshakes</text>")
    return _svg("latency-by-tls-version", 8 + max(len(rows), 1) * row_h, inner)


def _table(headers: list[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; numbers right-aligned with thousands separators, all text escaped."""
    def cell(value: Any) -> str:
        if isinstance(value, int):
            return f"<td class='n'>{value:,}</td>"
        return f"<td>{escape(str(value))}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"
