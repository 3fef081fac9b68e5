"""The one script to run where a GPU machine is lent: seconds per frame for Cycles on OptiX and CUDA and for EEVEE.

One fixed scene (seed 0, combination 0: the demo's first) at 1024x576, 48 frames, the product's settings (Cycles 8
samples, its tuned denoiser on the same device), rendered as the product renders it (H.264). Per variant:
  - the first frame alone, in a fresh Blender scene: for OptiX and CUDA this includes loading or compiling the
    kernels (what the first render on a new machine pays);
  - the first frame again: the same, warm (the difference is the compile);
  - the whole clip, wall seconds per frame;
  - the GPU's busy fraction during the clip (nvidia-smi's utilization.gpu sampled every 200 ms, mean);
  - which kernel cache folders exist and their size, before and after (where the compiled kernels live).
Prints a Markdown table and writes it, with the raw figures as JSON, under $OUT when that is set.

    .venv/bin/python bench/gpu_cycles.py [--width 1024 --height 576 --frames 48] [--variants optix cuda eevee]

A variant whose device is missing is reported as such, not as a failure of the others. On a machine without a GPU
`--variants cpu` checks the script itself (at a small size).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bpy

from simian.combine.combiner import combination_for
from simian.render.blender import scene as blender_scene
from simian.render.blender.device import available_gpu_backends
from simian.render.render_settings import RenderSettings

#: Where Cycles, the NVIDIA driver and OptiX keep compiled kernels (whichever exist on the machine).
KERNEL_CACHES = (
    "~/.cache/cycles",
    "~/.nv/ComputeCache",
    "~/.nv/optix",
    "/var/tmp/OptixCache_" + os.environ.get("USER", "root"),
)
#: Variant -> (engine, device).
VARIANTS = {
    "optix": ("cycles", "optix"),
    "cuda": ("cycles", "cuda"),
    "eevee": ("eevee", "auto"),
    "cpu": ("cycles", "cpu"),
}


def cache_sizes() -> dict[str, int]:
    """Bytes in each kernel cache folder that exists."""
    sizes = {}
    for name in KERNEL_CACHES:
        folder = Path(name).expanduser()
        if folder.is_dir():
            sizes[str(folder)] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return sizes


class GpuSampler:
    """nvidia-smi's utilization.gpu every 200 ms while the clip renders (none without nvidia-smi)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        if shutil.which("nvidia-smi"):
            argv = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"]
            self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
            self._thread = threading.Thread(target=self._read, daemon=True)
            self._thread.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                self.samples.append(float(line.strip().split(",")[0]) / 100)
            except ValueError:
                continue

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def busy(self) -> float | None:
        return statistics.mean(self.samples) if self.samples else None


def _build(settings: RenderSettings, out: Path, backends: list[str]) -> str:
    combination = combination_for(0, 0, clip=settings.clip())
    return blender_scene.build_scene(combination, settings, {}, out, backends)


def _render_frames(first: int, last: int) -> float:
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = first, last
    started = time.perf_counter()
    blender_scene.render_animation()
    return time.perf_counter() - started


def measure(name: str, args: argparse.Namespace, backends: list[str], work: Path) -> dict[str, Any]:
    engine, device = VARIANTS[name]
    settings = RenderSettings(width=args.width, height=args.height, frames=args.frames, engine=engine, device=device)
    before = cache_sizes()
    try:
        used = _build(settings, work / f"{name}-first", backends)
    except RuntimeError as exc:  # the device is not on this machine
        return {"variant": name, "error": str(exc)}
    first_cold = _render_frames(1, 1)
    _build(settings, work / f"{name}-again", backends)
    first_warm = _render_frames(1, 1)
    _build(settings, work / f"{name}-clip", backends)
    with GpuSampler() as sampler:
        clip = _render_frames(1, args.frames)
    return {
        "variant": name,
        "device": used,
        "first_frame_cold_s": round(first_cold, 3),
        "first_frame_warm_s": round(first_warm, 3),
        "kernel_load_or_compile_s": round(first_cold - first_warm, 3),
        "clip_s": round(clip, 3),
        "s_per_frame": round(clip / args.frames, 4),
        "gpu_busy": None if sampler.busy() is None else round(sampler.busy() or 0.0, 3),
        "kernel_caches_before": before,
        "kernel_caches_after": cache_sizes(),
    }


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"{args.width}x{args.height}, {args.frames} frames, seed 0 combination 0, the product's settings (8 samples)",
        "",
        "| variant | device | s / frame | first frame cold s | warm s | kernel load/compile s | GPU busy |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['variant']} | not present: {row['error']} | | | | | |")
            continue
        busy = "-" if row["gpu_busy"] is None else f"{row['gpu_busy']:.2f}"
        lines.append(
            f"| {row['variant']} | {row['device']} | {row['s_per_frame']:.3f} | {row['first_frame_cold_s']:.2f} | "
            f"{row['first_frame_warm_s']:.2f} | {row['kernel_load_or_compile_s']:.2f} | {busy} |"
        )
    caches = {k: v for row in rows for k, v in row.get("kernel_caches_after", {}).items()}
    listed = ", ".join(f"{k} ({v:,} bytes)" for k, v in caches.items()) or "none"
    lines += ["", f"kernel caches after the run: {listed}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=576)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["optix", "cuda", "eevee"])
    args = parser.parse_args()
    backends = available_gpu_backends()
    print(f"GPU backends with a device: {', '.join(backends) or 'none'}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="simian-gpu-") as tmp:
        for name in args.variants:
            rows.append(measure(name, args, backends, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    text = table(rows, args)
    print(text)
    out = os.environ.get("OUT")
    if out:
        Path(out, "gpu_cycles.md").write_text(text + "\n")
        Path(out, "gpu_cycles.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
