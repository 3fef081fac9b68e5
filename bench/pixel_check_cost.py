"""What the pixel check costs: a render without the segmentation pass against one with it and judged from the frames.

Renders combinations [0, N) of one seed in one warm renderer, each twice (no pass; the segmentation pass), the two
interleaved per combination so drift touches both alike, then times `pixel_truth.check_output` (decoding the video
and the pass, measuring and judging every named object) on the second. Prints seconds per video in CPU time (the
Blender child and this process; steadier than wall time on a shared machine) and wall time, and the ratio of the
checked render to the plain one. The default dataset path does not run the check: the composition keeps captions
true by prediction (`simian/scene/recognition.py`), so this is what turning `check --pixels` on costs.

    .venv/bin/python bench/pixel_check_cost.py --count 6 --width 320 --height 180 --frames 12 --samples 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from passes import _cpu_seconds  # noqa: E402

from simian.combine.combiner import combination_for  # noqa: E402
from simian.render import Renderer, RenderSettings  # noqa: E402
from simian.render.pixel_truth import check_output  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--samples", type=int, default=4)
    args = parser.parse_args()
    plain = RenderSettings(width=args.width, height=args.height, frames=args.frames, samples=args.samples, device="cpu")
    checked = plain.model_copy(update={"passes": ("segmentation",)})
    clip = plain.clip()
    cpu: dict[str, list[float]] = {"plain": [], "segmentation": [], "judge": []}
    wall: dict[str, list[float]] = {"plain": [], "segmentation": [], "judge": []}
    objects = recognised = 0
    with tempfile.TemporaryDirectory() as tmp, Renderer(cache_dir=Path(tmp) / "cache") as renderer:
        root = Path(tmp)
        renderer.render(combination_for(args.seed, args.count, None, 0, clip), plain, root).discard()  # warm up
        for index in range(args.count):
            combination = combination_for(args.seed, index, None, 0, clip)
            for name, settings in (("plain", plain), ("segmentation", checked)):
                child, own, began = _cpu_seconds(renderer.child_pid), time.process_time(), time.perf_counter()
                result = renderer.render(combination, settings, root)
                wall[name].append(time.perf_counter() - began)
                cpu[name].append(_cpu_seconds(renderer.child_pid) - child + time.process_time() - own)
                if name == "plain":
                    result.discard()
                    continue
                own, began = time.process_time(), time.perf_counter()
                verdicts = check_output(result.media, result.passes["segmentation"], combination)
                wall["judge"].append(time.perf_counter() - began)
                cpu["judge"].append(time.process_time() - own)
                objects += len(verdicts)
                recognised += sum(v.ok for v in verdicts)
                result.discard()
    print(
        f"videos: {args.count} x {args.width}x{args.height}, {args.frames} frames, {args.samples} samples (cycles, "
        f"CPU), seed {args.seed}; {recognised} of {objects} named objects recognisable"
    )
    print("| step | CPU s per video | wall s per video |")
    print("|---|---|---|")
    for name in cpu:
        print(f"| {name} | {statistics.mean(cpu[name]):.3f} | {statistics.mean(wall[name]):.3f} |")
    base_cpu, base_wall = statistics.mean(cpu["plain"]), statistics.mean(wall["plain"])
    with_cpu = statistics.mean(cpu["segmentation"]) + statistics.mean(cpu["judge"])
    with_wall = statistics.mean(wall["segmentation"]) + statistics.mean(wall["judge"])
    print(f"checked render / plain render: **{with_cpu / base_cpu:.2f}** CPU, {with_wall / base_wall:.2f} wall")


if __name__ == "__main__":
    main()
