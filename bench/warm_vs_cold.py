"""Warm renderer vs a cold process per video, measured side by side.

Renders combinations [0, N) of one seed twice: once with `simian render --range 0:N` (one warm
Blender process) and once with N separate `simian render --index i` processes, the
reference's architecture. Prints seconds per video for both, then the ratio cold / warm last.

    .venv/bin/python bench/warm_vs_cold.py --count 6 --width 160 --height 96 --frames 12 --samples 4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIMIAN = [sys.executable, "-m", "simian.cli", "render"]


def _run(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([*SIMIAN, *args], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--width", default="160")
    parser.add_argument("--height", default="96")
    parser.add_argument("--frames", default="12")
    parser.add_argument("--samples", default="4")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    settings = [
        "--seed",
        str(args.seed),
        "--width",
        args.width,
        "--height",
        args.height,
        "--frames",
        args.frames,
        "--samples",
        args.samples,
    ]
    warm_runs, cold_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            warm_dir, cold_dir = Path(tmp) / f"warm{repeat}", Path(tmp) / f"cold{repeat}"
            wall = _run(["--range", f"0:{args.count}", *settings, "-o", str(warm_dir)])
            blender = sum(
                json.loads((warm_dir / f"{i:08d}.json").read_text())["render_seconds"] for i in range(args.count)
            )
            warm_runs.append((wall, blender))
            cold_runs.append(sum(_run(["--index", str(i), *settings, "-o", str(cold_dir)]) for i in range(args.count)))
    (warm_wall, blender) = min(warm_runs)
    warm, cold = warm_wall / args.count, min(cold_runs) / args.count
    print(f"videos: {args.count} x {args.width}x{args.height}, {args.frames} frames, {args.samples} samples (cycles)")
    print(f"blender render time per video (inside the render call, best warm run): {blender / args.count:.3f} s")
    print(f"warm  `render --range`: {warm:.3f} s per video (best of {args.repeats})")
    print(f"cold  `render --index` x{args.count}: {cold:.3f} s per video (best of {args.repeats})")
    print(f"ratio cold/warm: {cold / warm:.2f}")


if __name__ == "__main__":
    main()
