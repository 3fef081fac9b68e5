"""What ground-truth passes cost: render time with each pass vs without, and bytes per video per pass.

Renders combinations [0, N) of one seed in one warm renderer, each combination once per pass setting
(no pass, each pass alone, all four), the settings interleaved per combination so drift touches all alike.
Prints, per setting, seconds per video (Blender's render, the pass post-processing, the whole render
call with its checks) and the ratio to no pass, in wall time and in CPU time (of the Blender child and
this process: on a machine others share, CPU time is the steadier measure); then the mean bytes per
video of the video, the camera file, each pass file and the metadata row.

    .venv/bin/python bench/passes.py --count 6 --width 160 --height 96 --frames 24 --samples 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from simian.combine.combiner import combination_for
from simian.dataset import FLAT, FolderSink, build_row
from simian.render import Renderer, RenderSettings
from simian.render.render_settings import PASS_NAMES

SETTINGS_UNDER_TEST: dict[str, tuple[str, ...]] = {
    "none": (),
    **{name: (name,) for name in PASS_NAMES},
    "all four": PASS_NAMES,
}


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=96)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--samples", type=int, default=4)
    args = parser.parse_args()
    base = RenderSettings(width=args.width, height=args.height, frames=args.frames, samples=args.samples, device="cpu")
    timings: dict[str, dict[str, list[float]]] = {
        name: {"render": [], "passes": [], "total": [], "cpu": []} for name in SETTINGS_UNDER_TEST
    }
    sizes: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp, Renderer(cache_dir=Path(tmp) / "cache") as renderer:
        root = Path(tmp)
        renderer.render(combination_for(args.seed, args.count), base, root).discard()  # warm the child first
        for index in range(args.count):
            combination = combination_for(args.seed, index)
            for name, passes in SETTINGS_UNDER_TEST.items():
                settings = base.model_copy(update={"passes": passes})
                out = root / name.replace(" ", "-")
                child, own = _cpu_seconds(renderer.child_pid), time.process_time()
                result = renderer.render(combination, settings, root)
                timings[name]["cpu"].append(_cpu_seconds(renderer.child_pid) - child + time.process_time() - own)
                facts = result.facts
                timings[name]["render"].append(facts.render_seconds)
                timings[name]["passes"].append(facts.passes_seconds)
                timings[name]["total"].append(facts.total_seconds)
                if name != "all four":
                    result.discard()
                    continue
                published = FolderSink(out, FLAT).publish(combination, settings, result)
                stem = out / published.file_name.removesuffix(".mp4")
                sizes.setdefault("video (H.264)", []).append((out / published.file_name).stat().st_size)
                sizes.setdefault("camera file (.camera.txt)", []).append(stem.with_suffix(".camera.txt").stat().st_size)
                for pass_name in PASS_NAMES:
                    sizes.setdefault(pass_name, []).append(stem.with_suffix(f".{pass_name}.npz").stat().st_size)
                row = build_row(combination, settings, file_name=published.file_name, sha256=published.sha256)
                sizes.setdefault("metadata row (JSON)", []).append(len(json.dumps(row, sort_keys=True)))
    print(
        f"videos: {args.count} x {args.width}x{args.height}, {args.frames} frames, {args.samples} samples "
        f"(cycles, CPU), seed {args.seed}"
    )
    plain = {k: statistics.mean(v) for k, v in timings["none"].items()}
    print(
        "| passes | Blender render s (wall) | pass files s | whole render call s (wall) | ratio, wall | "
        "CPU s per video | ratio, CPU |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, t in timings.items():
        render, post, total, cpu = (statistics.mean(t[k]) for k in ("render", "passes", "total", "cpu"))
        print(
            f"| {name} | {render:.3f} | {post:.3f} | {total:.3f} | {total / plain['total']:.2f} | {cpu:.2f} | "
            f"**{cpu / plain['cpu']:.2f}** |"
        )
    print("| file | bytes per video (mean) |")
    print("|---|---|")
    for name, values in sizes.items():
        print(f"| {name} | {statistics.mean(values):,.0f} |")


if __name__ == "__main__":
    main()
