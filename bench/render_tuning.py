"""Blender's own time per clip under candidate Cycles settings, at equal quality.

Scenes of seed 7 at the demo's clip (320x180, 24 frames, 8 samples, CPU), every third frame rendered
to PNG. Each candidate changes a few Cycles settings after the product built the scene; its frames
are compared with a 64-sample render of the same scenes at today's settings (PSNR over all frames,
in dB). Prints seconds per frame, the speed-up against today's settings and the PSNR loss; the
adoptable candidates are those within 0.5 dB of today's PSNR.

    .venv/bin/python bench/render_tuning.py [--scenes 2] [--step 3]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import bpy
import numpy as np

from simian.combine.combiner import combination_for
from simian.render.blender import scene as blender_scene
from simian.render.render_settings import RenderSettings

Tweak = Callable[[bpy.types.Scene], None]


def _set(**values: object) -> Tweak:
    def apply(scene: bpy.types.Scene) -> None:
        for key, value in values.items():
            setattr(scene.cycles, key, value)

    return apply


def _persistent(scene: bpy.types.Scene) -> None:
    scene.render.use_persistent_data = True


def _both(*tweaks: Tweak) -> Tweak:
    def apply(scene: bpy.types.Scene) -> None:
        for tweak in tweaks:
            tweak(scene)

    return apply


CANDIDATES: dict[str, Tweak] = {
    "today": lambda scene: None,
    "prefilter FAST": _set(denoising_prefilter="FAST"),
    "denoise quality BALANCED": _set(denoising_quality="BALANCED"),
    "denoise quality FAST": _set(denoising_quality="FAST"),
    "albedo only (no normal pass)": _set(denoising_input_passes="RGB_ALBEDO"),
    "persistent data": _persistent,
    "adaptive threshold 0.05": _set(adaptive_threshold=0.05),
    "prefilter FAST + quality BALANCED": _set(denoising_prefilter="FAST", denoising_quality="BALANCED"),
    "prefilter FAST + quality BALANCED + persistent": _both(
        _set(denoising_prefilter="FAST", denoising_quality="BALANCED"), _persistent
    ),
}


def render(index: int, settings: RenderSettings, step: int, tweak: Tweak, out: Path) -> tuple[float, list[Path]]:
    combination = combination_for(7, index, clip=settings.clip())
    blender_scene.build_scene(combination, settings, {}, out, [])
    scene = bpy.context.scene
    scene.frame_step = step
    tweak(scene)
    started = time.perf_counter()
    blender_scene.render_animation()
    return time.perf_counter() - started, sorted(out.glob("*.png"))


def _pixels(png: Path) -> np.ndarray:
    with av.open(str(png)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(np.float64)


def psnr(frames: list[Path], reference: list[Path]) -> float:
    errors = []
    for got, want in zip(frames, reference, strict=True):
        a, b = _pixels(got), _pixels(want)
        errors.append(np.mean((a - b) ** 2))
    mse = float(np.mean(errors))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenes", type=int, default=2)
    parser.add_argument("--step", type=int, default=3)
    args = parser.parse_args()
    base = {"width": 320, "height": 180, "frames": 24, "device": "cpu", "images": True}
    with tempfile.TemporaryDirectory(prefix="simian-tuning-") as tmp:
        root = Path(tmp)
        reference = {
            i: render(i, RenderSettings(**base, samples=64), args.step, CANDIDATES["today"], root / f"ref-{i}")[1]
            for i in range(args.scenes)
        }
        results: dict[str, tuple[float, float]] = {}
        for name, tweak in CANDIDATES.items():
            seconds, quality, count = 0.0, [], 0
            for i in range(args.scenes):
                spent, frames = render(i, RenderSettings(**base, samples=8), args.step, tweak, root / f"{name}-{i}")
                seconds += spent
                count += len(frames)
                quality.append(psnr(frames, reference[i]))
            results[name] = (seconds / count, float(np.mean(quality)))
            print(f"{name}: {results[name][0]:.2f} s/frame, {results[name][1]:.2f} dB", flush=True)
    today_s, today_db = results["today"]
    print("\ncandidate | s / frame | speed-up | PSNR dB | loss dB | adoptable")
    for name, (per_frame, db) in results.items():
        loss = today_db - db
        print(f"{name} | {per_frame:.2f} | {today_s / per_frame:.2f} | {db:.2f} | {loss:+.2f} | {loss <= 0.5}")


if __name__ == "__main__":
    main()
