"""The dataset's make-up in pictures: small SVG bar charts drawn from the metadata rows, written
beside the card and shown in it (what objects, camera moves, shot sizes, backgrounds and floors the videos hold,
how long their captions are and, where the render sidecars are at hand, how long each took to render)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

#: Folder of the charts, beside the card (the same in a local dataset and on the Hub).
CHARTS = "charts"
#: Bars per chart; the rest are summed into "other".
MAX_BARS = 16


def _combination(row: dict[str, Any]) -> dict[str, Any]:
    value = row.get("combination")
    return value if isinstance(value, dict) else {}


def _objects(row: dict[str, Any]) -> Iterable[str]:
    return [str(o.get("name")) for o in _combination(row).get("objects", []) if isinstance(o, dict)]


def _one(path: tuple[str, str]) -> Callable[[dict[str, Any]], Iterable[str]]:
    def value(row: dict[str, Any]) -> Iterable[str]:
        section = _combination(row).get(path[0])
        return [str(section.get(path[1]))] if isinstance(section, dict) and section.get(path[1]) else []

    return value


def _caption_words(row: dict[str, Any]) -> Iterable[str]:
    words = len(str(row.get("caption") or "").split())
    low = words // 25 * 25
    return [f"{low}-{low + 24}"] if words else []


#: (file stem, title, what each row counts for); objects are counted one by one, the rest per video.
CHART_SPECS: tuple[tuple[str, str, Callable[[dict[str, Any]], Iterable[str]]], ...] = (
    ("objects", "Objects", _objects),
    ("camera_moves", "Camera moves", _one(("animation", "name"))),
    ("shot_sizes", "Shot sizes", _one(("framing", "name"))),
    ("backgrounds", "Backgrounds", _one(("background", "name"))),
    ("floors", "Floors", _one(("stage", "name"))),
    ("caption_words", "Long caption length (words)", _caption_words),
)
#: Charts whose bars are bins, kept in their order rather than largest first.
BINNED = frozenset({"caption_words"})


def counts(rows: list[dict[str, Any]], what: Callable[[dict[str, Any]], Iterable[str]]) -> list[tuple[str, int]]:
    """Counts, largest first, at most MAX_BARS bars (the rest as 'other')."""
    return _ranked(Counter(label for row in rows for label in what(row)))


def _ranked(tally: Counter[str]) -> list[tuple[str, int]]:
    ranked = sorted(tally.most_common(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) > MAX_BARS:
        ranked = [*ranked[: MAX_BARS - 1], ("other", sum(n for _, n in ranked[MAX_BARS - 1 :]))]
    return ranked


#: Layout of a chart, in SVG user units (px): bar area, row height, margins, a label character's width (12 px type).
BAR_W, ROW_H, TOP, BOTTOM, CHAR_W = 300, 20, 30, 34, 7.0


def _svg(title: str, bars: list[tuple[str, int]], unit: str) -> str:
    """A horizontal bar chart written as SVG text directly: the same rows give the same bytes, and a card's seven
    charts take milliseconds (drawing them with matplotlib cost 1-2 s of every range run's finaliser)."""
    top = max((n for _, n in bars), default=0) or 1
    label_w = round(max((len(label) for label, _ in bars), default=0) * CHAR_W) + 12
    width, height = label_w + BAR_W + 60, TOP + ROW_H * len(bars) + BOTTOM
    lines = [
        '<?xml version="1.0" encoding="utf-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        ' font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:g}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    for row, (label, value) in enumerate(bars):
        y = TOP + row * ROW_H
        length = BAR_W * value / top
        lines += [
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{ROW_H - 6}" fill="#4c72b0"/>',
            f'<text x="{label_w + length:.1f}" y="{y + 14}" dx="3"> {value}</text>',
        ]
    axis_y = TOP + ROW_H * len(bars)
    lines += [
        f'<line x1="{label_w}" y1="{TOP}" x2="{label_w}" y2="{axis_y}" stroke="#000000"/>',
        f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + BAR_W}" y2="{axis_y}" stroke="#000000"/>',
        f'<text x="{label_w + BAR_W / 2:g}" y="{axis_y + 24}" text-anchor="middle">{escape(unit)}</text>',
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


#: The render-time chart: seconds per video binned, from the sidecars (rows hold no timings, so that a row is
#: the same however long its render took and a re-run changes nothing on the Hub).
RENDER_SECONDS = ("render_seconds", "Render seconds per video")


def seconds_bins(seconds: Iterable[float]) -> list[tuple[str, int]]:
    """Render seconds in bins that grow with the values (0-1, 1-2, 2-5, 5-10, 10-20, 20-50, ...), in order."""
    edges = [0.0, 1.0, 2.0, 5.0]
    values = sorted(seconds)
    while values and edges[-1] <= values[-1]:
        edges.append(edges[-3] * 10)
    bars: list[tuple[str, int]] = []
    for low, high in zip(edges, edges[1:], strict=False):
        count = sum(low <= v < high for v in values)
        if count or bars:
            bars.append((f"{low:g}-{high:g} s", count))
    while bars and bars[-1][1] == 0:
        bars.pop()
    return bars


def chart_files(rows: list[dict[str, Any]], render_seconds: list[float] | None = None) -> dict[str, str]:
    """`charts/<name>.svg` -> SVG text, one per chart with anything to show; the render-time chart when the
    seconds are given."""
    tallies = {stem: dict(Counter(label for row in rows for label in what(row))) for stem, _, what in CHART_SPECS}
    return chart_files_from_tallies(tallies, render_seconds)


def chart_files_from_tallies(
    tallies: dict[str, dict[str, int]], render_seconds: list[float] | None = None
) -> dict[str, str]:
    """The charts from counts per label (what a sharded dataset's aggregate keeps instead of its rows)."""
    files = {}
    for stem, title, _ in CHART_SPECS:
        bars = _ranked(Counter(tallies.get(stem) or {}))
        if stem in BINNED:  # "25-49" after "0-24", "other" (past MAX_BARS) last
            bars.sort(key=lambda bar: int(bar[0].split("-")[0]) if bar[0][0].isdigit() else 10**9)
        if bars:
            files[f"{CHARTS}/{stem}.svg"] = _svg(title, bars, "objects" if stem == "objects" else "videos")
    if render_seconds:
        files[f"{CHARTS}/{RENDER_SECONDS[0]}.svg"] = _svg(RENDER_SECONDS[1], seconds_bins(render_seconds), "videos")
    return files


def chart_titles(files: dict[str, str]) -> dict[str, str]:
    """Each chart's path -> its title, in the order the charts were made."""
    titles = {f"{CHARTS}/{stem}.svg": title for stem, title, _ in CHART_SPECS}
    titles[f"{CHARTS}/{RENDER_SECONDS[0]}.svg"] = RENDER_SECONDS[1]
    return {path: titles[path] for path in files}


def card_section(files: dict[str, str]) -> str:
    """The card's make-up section: each chart as an image, by its path beside the card."""
    if not files:
        return "No videos yet."
    return "\n\n".join(f"![{title}]({path})" for path, title in chart_titles(files).items())
