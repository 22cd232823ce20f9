"""logs summarize --format html: one self-contained page whose charts show the summary's numbers.

The page is checked twice: as written (parsed by Python) and as a browser builds it (headless
Chromium's DOM after loading), plus a screenshot that must not be blank.
"""

from __future__ import annotations

import re
import statistics
import struct
import subprocess
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conftest import require_program
from logs_factory import CODES, START, entry, lines, write
from mtls_doctor.logs.files import find_logs
from mtls_doctor.logs.html import MAX_HOURS, render_html
from mtls_doctor.logs.reader import LoadedLogs, load_logs
from mtls_doctor.logs.summary import Filters, summarize

CHARTS = {"failures-by-hour", "top-subjects", "top-clients", "latency-by-tls-version"}
HOSTILE = "CN=<script>alert(1)</script> & \"q\" <b>bold</b>,O=A&B"
HOSTILE_CLIENT = "198.51.100.7"
LATENCY = {"TLSv1.2": [0.001, 0.004, 0.010, 0.250], "TLSv1.3": [0.002, 0.003, 0.005, 0.007]}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    chart: str | None  # the data-chart of the <svg> it is in
    bar: str | None  # the data-label of the bar it is in


class Dom(HTMLParser):
    """Every element, with the chart and bar it is in, and all the text of a page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self._open: list[tuple[str, dict[str, str]]] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        chart = next((a.get("data-chart") for t, a in reversed(self._open) if t == "svg"), None)
        bar = next((a["data-label"] for _, a in reversed(self._open) if "data-label" in a), None)
        self.elements.append(Element(tag, values, chart, bar))
        if tag in ("svg", "g"):
            self._open.append((tag, values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def chart(self, name: str) -> list[Element]:
        return [e for e in self.elements if e.chart == name]


@dataclass
class Report:
    logs: LoadedLogs
    summary: dict[str, Any]
    page: str
    path: Path


def build(directory: Path, text: list[str], filters: Filters | None = None) -> Report:
    filters = filters or Filters()
    logs = load_logs(find_logs([str(write(directory / "a.log.gz", text))]))
    summary = summarize(logs, filters, top=20)
    page = render_html(logs, summary, filters)
    path = directory / "report.html"
    path.write_text(page, encoding="utf-8")
    return Report(logs, summary, page, path)


def latency_lines() -> list[str]:
    out = []
    for protocol, values in LATENCY.items():
        for i, value in enumerate(values):
            line = entry(9000 + i, "Success", subject="CN=plain", when=START + timedelta(hours=1))
            out.append(line.replace("TLSv1.3", protocol).replace(" 0.012 ", f" {value} "))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    text, _ = lines(2000)
    logged = HOSTILE.replace('"', '""')  # a quote inside the quoted subject field is doubled
    text += [entry(3000 + i, "Failed:ClientCertExpired", subject=logged, client=HOSTILE_CLIENT)
             for i in range(150)]
    return build(tmp_path_factory.mktemp("html"), text + latency_lines())


def chromium(*args: str, page: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    program = require_program("chromium")
    return subprocess.run(
        [program, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture(scope="module", params=["as-written", "chromium"])
def dom(request: pytest.FixtureRequest, report: Report,
        tmp_path_factory: pytest.TempPathFactory) -> Dom:
    if request.param == "as-written":
        return Dom(report.page)
    done = chromium("--dump-dom", page=report.path, profile=tmp_path_factory.mktemp("profile"))
    assert "<svg" in done.stdout, done.stderr[-2000:]
    return Dom(done.stdout)


def failure_counts(summary: dict[str, Any]) -> dict[str, int]:
    return {s.removeprefix("Failed:"): n for s, n in summary["by_status"].items()
            if s.startswith("Failed:")}


def test_every_chart_is_there(dom: Dom) -> None:
    assert {e.attrs["data-chart"] for e in dom.elements if e.tag == "svg"} == CHARTS
    for name in CHARTS:
        assert any(e.tag == "title" for e in dom.chart(name)), f"{name} has no tooltips"


def test_the_stacked_chart_has_one_series_per_failure_code(dom: Dom, report: Report) -> None:
    expected = failure_counts(report.summary)
    assert set(expected) == set(CODES)
    chart = dom.chart("failures-by-hour")
    series = {e.attrs["data-series"]: int(e.attrs["data-value"]) for e in chart
              if e.tag == "g" and "data-series" in e.attrs}
    assert series == expected
    legend = {e.attrs["data-series"] for e in dom.elements if e.tag == "li"}
    assert legend == set(expected)
    # The rects of each series (read back through the group they are in) add up to it too.
    groups: dict[str, int] = Counter()
    current = None
    for element in chart:
        if element.tag == "g":
            current = element.attrs["data-series"]
        elif element.tag == "rect":
            assert current is not None
            groups[current] += int(element.attrs["data-value"])
    assert groups == expected
    hours = {e.attrs["data-hour"] for e in chart if e.tag == "rect"}
    summary_hours = {h["hour"] for h in report.summary["by_hour"] if h["failures"]}
    assert hours == summary_hours


@pytest.mark.parametrize(("name", "key", "column"), [
    ("top-subjects", "top_failing_subjects", "subject"),
    ("top-clients", "top_failing_clients", "client_ip")])
def test_bars_show_the_summary_counts(dom: Dom, report: Report, name: str, key: str,
                                      column: str) -> None:
    chart = dom.chart(name)
    bars = [(e.attrs["data-label"], int(e.attrs["data-value"])) for e in chart
            if e.tag == "g" and "data-label" in e.attrs]
    assert bars == [(row[column], row["count"]) for row in report.summary[key]]
    assert len(bars) == 20 if name == "top-clients" else len(bars) == 5
    segments: dict[str, dict[str, int]] = defaultdict(dict)
    for element in chart:
        if element.tag == "rect":
            assert element.bar is not None
            segments[element.bar][element.attrs["data-series"]] = int(element.attrs["data-value"])
    for row in report.summary[key]:
        statuses = {s.removeprefix("Failed:"): n for s, n in row["statuses"].items()}
        assert segments[row[column]] == statuses


def test_latency_is_shown_per_tls_version(dom: Dom) -> None:
    bars = {e.attrs["data-label"]: e.attrs for e in dom.chart("latency-by-tls-version")
            if e.tag == "g"}
    # Besides the chosen ones, the factory's successes are TLSv1.3 at 0.012 s.
    successes = [0.012] * sum(1 for line in lines(2000)[0] if " Success " in line)
    values = {"TLSv1.2": LATENCY["TLSv1.2"], "TLSv1.3": LATENCY["TLSv1.3"] + successes}
    assert set(bars) == set(values)
    for protocol, data in values.items():
        p90 = statistics.quantiles(data, n=10, method="inclusive")[8]
        got = bars[protocol]
        assert float(got["data-p50"]) == pytest.approx(statistics.median(data))
        assert float(got["data-p90"]) == pytest.approx(p90)
        assert float(got["data-max"]) == pytest.approx(max(data))
        assert int(got["data-count"]) == len(data)


def test_text_from_the_logs_cannot_inject_markup(dom: Dom) -> None:
    assert not any(e.tag in ("script", "b") for e in dom.elements)
    assert any(HOSTILE in text for text in dom.text)
    labels = {e.attrs["data-label"] for e in dom.chart("top-subjects") if e.tag == "g"}
    assert HOSTILE in labels


def test_the_page_is_self_contained_and_escaped(report: Report) -> None:
    page = report.page
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""\b(src|href|action|srcset|xlink:href)\s*=""", page, re.I)
    assert not re.search(r"@import|url\(|<script|<link|<iframe|<img", page, re.I)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert escape(HOSTILE) in page
    assert "<b>" not in page and "alert(1)</script>" not in page


def test_a_browser_draws_it(report: Report, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2000", page=report.path,
             profile=tmp_path / "profile")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
    assert len(data) > 30_000, "the screenshot is (nearly) blank"
    chunks, at = [], 8
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + size])
        at += 12 + size
    pixels = zlib.decompress(b"".join(chunks))
    assert len(set(pixels)) > 100, "too few colours for charts"


def test_hours_are_capped_and_the_page_stays_small(tmp_path: Path) -> None:
    hours = MAX_HOURS + 40
    text = [entry(h * 13 + i, f"Failed:{code}", subject=f"CN=subject {(h + i) % 25}",
                  client=f"203.0.113.{(h * 13 + i) % 30}",
                  when=START + timedelta(hours=h, minutes=i))
            for h in range(hours) for i, code in enumerate(CODES)]
    report = build(tmp_path, text)
    assert len(report.page.encode()) < 1_000_000
    dom = Dom(report.page)
    shown = {e.attrs["data-hour"] for e in dom.chart("failures-by-hour") if e.tag == "rect"}
    last = START + timedelta(hours=hours - 1)
    assert len(shown) == MAX_HOURS
    assert min(shown) == (last - timedelta(hours=MAX_HOURS - 1)).strftime("%Y-%m-%dT%H:00:00Z")
    assert f"data-capped='{hours}'" in report.page
    assert f"Showing the last {MAX_HOURS} of {hours} hours" in report.page
    assert len([e for e in dom.chart("top-subjects") if e.tag == "g"]) == 20
    table_hours = [t for t in dom.text if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", t)]
    assert len(table_hours) == MAX_HOURS


def test_filters_narrow_the_charts_like_the_tables(tmp_path: Path) -> None:
    text, _ = lines(1000)
    report = build(tmp_path, text, Filters(status="ClientCertExpired"))
    dom = Dom(report.page)
    series = {e.attrs["data-series"]: int(e.attrs["data-value"])
              for e in dom.chart("failures-by-hour") if e.tag == "g"}
    assert series == failure_counts(report.summary) == {
        "ClientCertExpired": report.summary["failures"]}
    assert "status=ClientCertExpired" in report.page


def test_no_entries_still_renders_every_chart(tmp_path: Path) -> None:
    report = build(tmp_path, ["garbage line", "half \"quoted"])
    dom = Dom(report.page)
    assert {e.attrs["data-chart"] for e in dom.elements if e.tag == "svg"} == CHARTS
    assert not any("data-series" in e.attrs or "data-label" in e.attrs for e in dom.elements)
    assert "No failures" in report.page and "2 malformed lines" in report.page
