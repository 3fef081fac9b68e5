"""End-to-end cost per video through the real stack vs Blender's own render time, and the reference's way.

12 combinations, 160x96, 24 frames, Cycles 4 samples on the CPU:
  A. Simian: `prefect deployment run simian/render-range --watch` (local Redis, Prefect server, one worker,
     local dataset sink), from submission until the run is Completed by the run's own timestamps (the command's
     wall time, which adds its own start and the event stream's delay, is printed too).
  B. The reference's architecture on the same scenes: a fresh Python + bpy process per video
     (`simian render --index i`), then a per-file upload into the same dataset folder.
The limit is Blender's own time (the time inside the render call, from the sidecars). Prints
each path's seconds per video and its ratio to that limit; the last line is Simian's ratio. Also the chunk's
render-slot busy fraction: Blender's render seconds over the chunk run's wall seconds (Prefect's start and end).

    .venv/bin/python bench/end_to_end.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from common import SETTINGS, bench_stack, blender_seconds

from simian import atomic
from simian.dataset import DATASET
from simian.operations.sandbox import SIMIAN

if TYPE_CHECKING:
    from common import BenchStack

COUNT = 12
SEED = 7


def reference_architecture(out: Path) -> tuple[float, float]:
    renders, dataset = out / "renders", out / "dataset"
    started = time.perf_counter()
    for index in range(COUNT):
        flags = [f"--{k}={v}" for k, v in SETTINGS.items()]
        subprocess.run(
            [*SIMIAN, "render", "--index", str(index), "--seed", str(SEED), *flags, "-o", str(renders)],
            check=True,
            capture_output=True,
        )
        # the reference's per-file upload: each file copied into the dataset as it is finished
        media, sidecar = renders / f"{index:08d}.mp4", renders / f"{index:08d}.json"
        atomic.write_bytes(dataset / DATASET.media(index, ".mp4"), media.read_bytes())
        atomic.write_bytes(dataset / DATASET.sidecar(index), sidecar.read_bytes())
    elapsed = time.perf_counter() - started
    return elapsed, blender_seconds(sorted(dataset.glob("data/*/*.json")))


def chunk_wall(stack: BenchStack, run_id: str) -> float:
    """Seconds the range run's chunk runs ran (start to end, as Prefect recorded them), summed."""
    import httpx

    api = stack.env["PREFECT_API_URL"]
    children = {"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}}
    chunks = httpx.post(f"{api}/flow_runs/filter", json=children).json()
    at = datetime.fromisoformat
    return sum((at(c["end_time"]) - at(c["start_time"])).total_seconds() for c in chunks)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="simian-e2e-") as tmp:
        out = Path(tmp)
        with bench_stack() as stack:
            wall, run_id = stack.run_range(
                start=0, end=COUNT, seed=SEED, chunk_size=COUNT, output=out / "simian", **SETTINGS
            )
            timeline = stack.timeline(run_id)
            outcomes = stack.outcomes(run_id)
            chunks_wall = chunk_wall(stack, run_id)
            cached_wall, cached_id = stack.run_range(
                start=0, end=COUNT, seed=SEED, chunk_size=COUNT, output=out / "simian", **SETTINGS
            )
            cached_timeline = stack.timeline(cached_id)
        simian_blender = blender_seconds(sorted((out / "simian").glob("data/*/*.json")))
        ref_wall, ref_blender = reference_architecture(out / "reference")
        shutil.rmtree(out, ignore_errors=True)
    print(
        f"{COUNT} videos, {SETTINGS['width']}x{SETTINGS['height']}, {SETTINGS['frames']} frames, "
        f"Cycles {SETTINGS['samples']} samples, CPU"
    )
    print(
        f"blender limit (time inside render calls): {simian_blender / COUNT:.3f} s/video (simian run), "
        f"{ref_blender / COUNT:.3f} s/video (reference run)"
    )
    print(f"reference architecture: {ref_wall / COUNT:.3f} s/video, ratio {ref_wall / ref_blender:.2f}")
    per = {k: sum(o[k] for o in outcomes.values()) / COUNT for k in ("render_seconds", "total_seconds", "seconds")}
    print(
        f"per video inside the chunk: Blender render {per['render_seconds']:.3f} s, scene build + encode check + "
        f"publish {per['total_seconds'] - per['render_seconds']:.3f} s, Prefect task + Redis cache/lock + waiting "
        f"for the render slot (two combinations in flight) {per['seconds'] - per['total_seconds']:.3f} s"
    )
    print("timeline of the run (s after submission): " + ", ".join(f"{k} {v:.1f}" for k, v in timeline.items()))
    print("timeline of the cached re-run: " + ", ".join(f"{k} {v:.1f}" for k, v in cached_timeline.items()))
    print(f"simian fully cached re-run (the fixed cost of a range run): {cached_wall:.2f} s for {COUNT} combinations")
    marginal = (wall - cached_wall) / simian_blender
    print(f"simian marginal ratio (run minus the cached re-run, over the limit): {marginal:.2f}")
    busy = per["render_seconds"] * COUNT / chunks_wall
    print(f"render slot busy fraction (Blender render seconds / chunk run wall seconds): {busy:.2f}")
    span = timeline["range run ended"]
    print(
        f"simian end to end, submission to Completed (the run's own timestamps): {span:.2f} s, "
        f"{span / COUNT:.3f} s/video, ratio {span / simian_blender:.2f}"
    )
    print(
        f"simian end to end, the --watch command's wall time (its own start and event stream included): {wall:.2f} s, "
        f"{wall / COUNT:.3f} s/video, ratio {wall / simian_blender:.2f}"
    )
    print(
        f"speed-up over the reference architecture (same run): {ref_wall / span:.2f}, "
        f"by the CLI wall {ref_wall / wall:.2f}"
    )
    print(f"ratio simian/limit: {span / simian_blender:.2f}")


if __name__ == "__main__":
    main()
