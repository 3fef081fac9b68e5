"""Peak memory of one warm render process across 50 combinations: it must not grow without bound.

Samples the render child's resident set (VmRSS) after every combination and fits a line; prints
the slope in MB per combination last.

    .venv/bin/python bench/memory.py --count 50
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from simian.combine.combiner import CombinerOptions, combination_for
from simian.render import Renderer, RenderSettings


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _slope(ys: list[float]) -> float:
    n = len(ys)
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    settings = RenderSettings(width=160, height=96, frames=12, samples=4, device="cpu")
    options = CombinerOptions(random=True, max_objects=4)
    rss_mb = []
    with tempfile.TemporaryDirectory() as tmp, Renderer() as renderer:
        for index in range(args.count):
            renderer.render(combination_for(11, index, options), settings, Path(tmp))
            pid = renderer.child_pid  # the warm child: one for the whole run
            rss_mb.append(_status_kb(pid, "VmRSS") / 1024)
        peak = _status_kb(pid, "VmHWM") / 1024
        restarts = renderer.children_started
    tail = rss_mb[len(rss_mb) // 5 :]
    print(f"{args.count} combinations in one warm process (children started: {restarts})")
    print(f"RSS after first: {rss_mb[0]:.0f} MB, after last: {rss_mb[-1]:.0f} MB, peak (VmHWM): {peak:.0f} MB")
    print(f"slope over the last {len(tail)} combinations: {_slope(tail):.2f} MB per combination")


if __name__ == "__main__":
    main()
