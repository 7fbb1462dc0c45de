"""What a run reports: the one percentile function, ratios, tables, charts and the files written.

Every script's percentiles come from ``percentile`` (numpy's default, linear interpolation
between the two nearest ranks), so a p99 means the same thing in every result and note. The
one exception is wrk, which computes its own from its histogram (``bench/wrk/bench_http.lua``).
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT

RESULTS_DIR = ROOT / "bench" / "results"
NOTES_DIR = ROOT / "bench" / "notes"


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) of ``values``, as ``numpy.percentile`` computes it by
    default: linear interpolation between the closest ranks. None when there are no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(num: float, den: float, digits: int) -> float | None:
    """``num / den`` rounded, None when the baseline is zero."""
    return round(num / den, digits) if den else None


def machine_info() -> dict:
    """Cores, CPU model, platform and load average: what a result needs to be read later."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_at_start": loadavg(),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass(frozen=True)
class Column:
    """One column of a text table: its header, the row key, its width and a format spec."""

    header: str
    key: str
    width: int
    spec: str = ""


def table(columns: Sequence[Column], rows: Iterable[dict]) -> str:
    """A fixed-width text table; the first column is left-aligned, a missing value prints "–"."""

    def cell(column: Column, text: str, first: bool) -> str:
        return f"{text:<{column.width}}" if first else f"{text:>{column.width}}"

    def value(column: Column, row: dict) -> str:
        return "–" if row.get(column.key) is None else format(row[column.key], column.spec)

    header = "".join(cell(c, c.header, i == 0) for i, c in enumerate(columns))
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append("".join(cell(c, value(c, row), i == 0) for i, c in enumerate(columns)))
    return "\n".join(lines)


def stamp(at: datetime | None = None) -> str:
    """The UTC timestamp in result file names: ``20261203T150250Z``."""
    return (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def results_write(name: str, report: dict, at: datetime | None = None) -> Path:
    """``bench/results/<name>-<UTC stamp>.json``: a run's whole record (ignored by git; what is
    worth keeping goes into a dated note)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{name}-{stamp(at)}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out


def note_draft(topic: str, *, title: str, command: str, machine: dict, body: str) -> Path:
    """Start ``bench/notes/<date>-<topic>.md`` with what a dated note always says (command,
    machine, load) and the run's table; the reading of the figures is for a person to add."""
    NOTES_DIR.mkdir(parents=True, exist_ok=True)
    out = NOTES_DIR / f"{datetime.now(UTC):%Y-%m-%d}-{topic}.md"
    n = 2
    while out.exists():
        out = out.with_name(f"{datetime.now(UTC):%Y-%m-%d}-{topic}-{n}.md")
        n += 1
    out.write_text(
        f"# {datetime.now(UTC):%Y-%m-%d}: {title}\n\n"
        f"`{command}` on {machine['cores']} cores ({machine['cpu'] or machine['platform']}), "
        f"load average {machine['loadavg_at_start'][0]} at start.\n\n"
        f"```\n{body}\n```\n\nWhat the figures say: (to write)\n"
    )
    return out


def chart_write(fig, html: Path) -> Path | None:
    """Write a plotly figure as HTML and, when Playwright and Chromium are installed, as a PNG
    beside it; returns the PNG's path, or None (the HTML is then the chart)."""
    fig.write_html(html, include_plotlyjs=True)
    png = html.with_suffix(".png")
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1020, "height": 720})
            page.goto(html.resolve().as_uri())
            page.wait_for_timeout(1500)
            page.screenshot(path=str(png))
            browser.close()
        return png
    except Exception:  # no Playwright or no Chromium here
        return None
