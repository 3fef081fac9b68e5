"""Blender's own time per clip under candidate Cycles settings, at equal quality.

Fixed scenes at the demo's clip (320x180, 24 frames, 8 samples, CPU): the demo's first scenes (seed 0)
and two of seed 7, every fourth frame rendered to PNG. Every candidate starts from the settings the
product used before the tuning (`TODAY_CYCLES`, set explicitly, so the table does not move when the
product's defaults do) and changes a few of them after the product built the scene; `product` is the
product's own settings. Its frames are compared with a 64-sample render of the same frames at the old
settings, rendered once per scene and kept under bench/tuning-cache/ so reruns are cheap. Candidates are
interleaved (each scene renders every candidate, in an order rotated per scene) so that load from other
work hits all of them alike, and time is this process's CPU seconds (all of Blender's threads), which
other work on the machine moves far less than wall time.

Prints CPU seconds per frame (wall beside), the speed-up against the old settings, PSNR and SSIM per
candidate per scene and the mean; the adoptable candidates lose at most 0.5 dB on average and 0.8 dB on
any scene. Then it renders the demo's first two clips whole (all frames, H.264 as the product writes
them) at the old settings and at the product's, interleaved.

    .venv/bin/python bench/render_tuning.py [--step 4] [--only NAME ...] [--references-only] [--no-clips | --clips-only]
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import bpy
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from simian.combine.combiner import combination_for
from simian.render.blender import scene as blender_scene
from simian.render.render_settings import RenderSettings

Tweak = Callable[[bpy.types.Scene], None]

CACHE = Path(__file__).resolve().parent / "tuning-cache"
#: (seed, index): the demo's first two scenes and two of seed 7.
SCENES = ((0, 0), (0, 1), (7, 0), (7, 1))
BASE: dict[str, Any] = {"width": 320, "height": 180, "frames": 24, "device": "cpu", "images": True}
#: The demo's clips rendered whole, today and the product side by side.
CLIPS = 2
ADOPT_MEAN_DB = 0.5
ADOPT_WORST_DB = 0.8

#: The Cycles and compositor settings the product rendered with before the tuning.
TODAY_CYCLES: dict[str, object] = {
    "use_denoising": True,
    "denoiser": "OPENIMAGEDENOISE",
    "denoising_prefilter": "ACCURATE",
    "denoising_quality": "HIGH",
    "denoising_input_passes": "RGB_ALBEDO_NORMAL",
    "caustics_reflective": True,
    "caustics_refractive": True,
    "use_light_tree": True,
    "diffuse_bounces": 4,
    "glossy_bounces": 4,
    "transmission_bounces": 12,
    "transparent_max_bounces": 8,
    "sample_clamp_indirect": 10.0,
    "adaptive_threshold": 0.01,
    "adaptive_min_samples": 0,
}


def _today(scene: bpy.types.Scene) -> None:
    for key, value in TODAY_CYCLES.items():
        setattr(scene.cycles, key, value)
    scene.render.compositor_denoise_final_quality = "HIGH"
    scene.render.use_persistent_data = False


def _set(**values: object) -> Tweak:
    def apply(scene: bpy.types.Scene) -> None:
        _today(scene)
        for key, value in values.items():
            if key == "persistent":
                scene.render.use_persistent_data = bool(value)
            elif key == "ao_quality":
                scene.render.compositor_denoise_final_quality = value
            else:
                setattr(scene.cycles, key, value)

    return apply


def _product(scene: bpy.types.Scene) -> None:
    """The product's own settings, as `build_scene` left them."""


def _product_and(**values: object) -> Tweak:
    def apply(scene: bpy.types.Scene) -> None:
        for key, value in values.items():
            setattr(scene.cycles, key, value)

    return apply


FAST = {"denoising_quality": "FAST"}
ALBEDO = {"denoising_input_passes": "RGB_ALBEDO"}
NO_AUX = {"denoising_input_passes": "RGB"}
NO_CAUSTICS = {"caustics_reflective": False, "caustics_refractive": False}
CAPS = {"diffuse_bounces": 2, "glossy_bounces": 2, "transmission_bounces": 4, "transparent_max_bounces": 4}
ADAPTIVE = {"adaptive_threshold": 0.05, "adaptive_min_samples": 4}

CANDIDATES: dict[str, Tweak] = {
    "today": _today,
    "quality BALANCED": _set(denoising_quality="BALANCED"),
    "quality FAST": _set(**FAST),
    "albedo only": _set(**ALBEDO),
    "no aux passes": _set(**NO_AUX),
    "prefilter FAST": _set(denoising_prefilter="FAST"),
    "denoise off (its share)": _set(use_denoising=False),
    "quality FAST + prefilter FAST": _set(**FAST, denoising_prefilter="FAST"),
    "quality FAST + albedo only": _set(**FAST, **ALBEDO),
    "quality BALANCED + albedo only": _set(denoising_quality="BALANCED", **ALBEDO),
    "quality BALANCED + prefilter FAST": _set(denoising_quality="BALANCED", denoising_prefilter="FAST"),
    "quality BALANCED + no aux passes": _set(denoising_quality="BALANCED", **NO_AUX),
    "quality FAST + no aux passes": _set(**FAST, **NO_AUX),
    "no aux passes + AO FAST + caustics off + persistent": _set(
        **NO_AUX, **NO_CAUSTICS, ao_quality="FAST", persistent=True
    ),
    "AO denoise FAST": _set(ao_quality="FAST"),
    "caustics off": _set(**NO_CAUSTICS),
    "bounce caps 2/2/4/4": _set(**CAPS),
    "clamp indirect 3": _set(sample_clamp_indirect=3.0),
    "adaptive 0.05, min 4": _set(**ADAPTIVE),
    "persistent data": _set(persistent=True),
    "FAST + albedo + AO FAST + caustics off": _set(**FAST, **ALBEDO, **NO_CAUSTICS, ao_quality="FAST"),
    "FAST + albedo + AO FAST + caustics off + caps + persistent": _set(
        **FAST, **ALBEDO, **NO_CAUSTICS, **CAPS, ao_quality="FAST", persistent=True
    ),
    "product + light tree on": _product_and(use_light_tree=True),
    "product": _product,
}


def _build(seed: int, index: int, settings: RenderSettings, out: Path) -> float:
    started = time.perf_counter()
    blender_scene.build_scene(combination_for(seed, index, clip=settings.clip()), settings, {}, out, [])
    return time.perf_counter() - started


@dataclass
class Spent:
    """CPU seconds of this process (all of Blender's threads): what the render costs, whatever else the machine
    runs at the time; wall seconds beside them."""

    cpu: float
    wall: float


def _render_timed() -> Spent:
    cpu, wall = time.process_time(), time.perf_counter()
    blender_scene.render_animation()
    return Spent(time.process_time() - cpu, time.perf_counter() - wall)


def render(
    seed: int, index: int, settings: RenderSettings, step: int, tweak: Tweak, out: Path
) -> tuple[Spent, list[Path]]:
    """Blender's render time for every `step`th frame, and the frames."""
    shutil.rmtree(out, ignore_errors=True)
    _build(seed, index, settings, out)
    scene = bpy.context.scene
    scene.frame_step = step
    tweak(scene)
    spent = _render_timed()
    return spent, sorted(out.glob("*.png"))


def reference(seed: int, index: int, step: int) -> list[Path]:
    """The 64-sample frames at today's settings, rendered once and kept in the cache."""
    folder = CACHE / f"ref-s{seed}-i{index}-step{step}"
    if (folder / "done").exists():
        return sorted(folder.glob("*.png"))
    spent, frames = render(seed, index, RenderSettings(**BASE, samples=64), step, _today, folder)
    (folder / "done").write_text(f"{spent.cpu:.1f} CPU s\n")
    print(f"reference seed {seed} index {index}: {spent.cpu / len(frames):.1f} CPU s/frame", flush=True)
    return frames


def _pixels(png: Path) -> np.ndarray:
    with av.open(str(png)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").astype(np.float64)


def psnr(frames: list[Path], reference: list[Path]) -> float:
    """PSNR over all frames together (mean squared error of every pixel and channel)."""
    errors = [np.mean((_pixels(a) - _pixels(b)) ** 2) for a, b in zip(frames, reference, strict=True)]
    mse = float(np.mean(errors))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def _ssim_image(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) over 7x7 windows of each channel, 8-bit constants."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for channel in range(a.shape[2]):
        x = sliding_window_view(a[:, :, channel], (7, 7))
        y = sliding_window_view(b[:, :, channel], (7, 7))
        mx, my = x.mean(axis=(2, 3)), y.mean(axis=(2, 3))
        vx, vy = x.var(axis=(2, 3), ddof=1), y.var(axis=(2, 3), ddof=1)
        cov = ((x - mx[..., None, None]) * (y - my[..., None, None])).sum(axis=(2, 3)) / 48
        ssim = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
        scores.append(float(ssim.mean()))
    return float(np.mean(scores))


def ssim(frames: list[Path], reference: list[Path]) -> float:
    return float(np.mean([_ssim_image(_pixels(a), _pixels(b)) for a, b in zip(frames, reference, strict=True)]))


@dataclass
class Tally:
    cpu: float = 0.0
    wall: float = 0.0
    frames: int = 0
    scenes: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # scene: s/frame, PSNR, SSIM


def measure(names: list[str], step: int, work: Path) -> dict[str, Tally]:
    refs = {scene: reference(*scene, step) for scene in SCENES}
    tallies = {name: Tally() for name in names}
    for turn, (seed, index) in enumerate(SCENES):
        order = names[turn % len(names) :] + names[: turn % len(names)]
        for name in order:
            out = work / f"s{seed}-i{index}"
            spent, frames = render(seed, index, RenderSettings(**BASE, samples=8), step, CANDIDATES[name], out)
            want = refs[(seed, index)]
            label = f"{seed}/{index}"
            tally = tallies[name]
            tally.cpu += spent.cpu
            tally.wall += spent.wall
            tally.frames += len(frames)
            tally.scenes[label] = (spent.cpu / len(frames), psnr(frames, want), ssim(frames, want))
            print(
                f"{label} {name}: {spent.cpu / len(frames):.2f} CPU s/frame ({spent.wall / len(frames):.2f} wall), "
                f"{tally.scenes[label][1]:.2f} dB, SSIM {tally.scenes[label][2]:.4f}",
                flush=True,
            )
    return tallies


def report(tallies: dict[str, Tally]) -> None:
    today = tallies["today"]
    base_s = today.cpu / today.frames
    labels = list(today.scenes)
    print(
        "\n| candidate | CPU s / frame | speed-up | wall s / frame | PSNR dB (mean) | loss dB (mean / worst) "
        "| SSIM (mean) | adoptable |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, tally in tallies.items():
        per_frame = tally.cpu / tally.frames
        losses = [today.scenes[s][1] - tally.scenes[s][1] for s in labels]
        mean_db = float(np.mean([tally.scenes[s][1] for s in labels]))
        mean_ssim = float(np.mean([tally.scenes[s][2] for s in labels]))
        ok = float(np.mean(losses)) <= ADOPT_MEAN_DB and max(losses) <= ADOPT_WORST_DB
        print(
            f"| {name} | {per_frame:.2f} | {base_s / per_frame:.2f} | {tally.wall / tally.frames:.2f} | "
            f"{mean_db:.2f} | "
            f"{np.mean(losses):+.2f} / {max(losses):+.2f} | {mean_ssim:.4f} | {'yes' if ok else 'no'} |"
        )
    print("\n| candidate (per scene: CPU s/frame, PSNR, SSIM) | " + " | ".join(labels) + " |")
    print("|---" * (len(labels) + 1) + "|")
    for name, tally in tallies.items():
        cells = " | ".join(
            f"{tally.scenes[s][0]:.2f}, {tally.scenes[s][1]:.2f}, {tally.scenes[s][2]:.4f}" for s in labels
        )
        print(f"| {name} | {cells} |")


def whole_clips(work: Path) -> None:
    """The demo's first `CLIPS` clips whole (24 frames, H.264 as the product writes them), at today's settings and at
    the product's, interleaved: Blender's CPU seconds per clip for the render and for build + render."""
    video = {**BASE, "images": False}
    totals = {name: {"build": 0.0, "render": 0.0, "wall": 0.0} for name in ("today", "product")}
    for index in range(CLIPS):
        for name in ("today", "product") if index % 2 == 0 else ("product", "today"):
            settings = RenderSettings(**video, samples=8)
            cpu = time.process_time()
            _build(0, index, settings, work / f"clip-{name}-{index}")
            built = time.process_time() - cpu
            CANDIDATES[name](bpy.context.scene)
            spent = _render_timed()
            totals[name]["build"] += built
            totals[name]["render"] += spent.cpu
            totals[name]["wall"] += spent.wall
            print(f"demo clip 0/{index} {name}: build {built:.1f} CPU s, render {spent.cpu:.1f} CPU s", flush=True)
    today, product = totals["today"], totals["product"]
    print(f"\n| the demo's clips (seed 0, 0-{CLIPS - 1}, 24 frames), per clip | today | product | speed-up |")
    print("|---|---|---|---|")
    for label, key in (("render, CPU s", "render"), ("render, wall s", "wall")):
        print(f"| {label} | {today[key] / CLIPS:.1f} | {product[key] / CLIPS:.1f} | {today[key] / product[key]:.2f} |")
    both = today["build"] + today["render"], product["build"] + product["render"]
    print(f"| build + render, CPU s | {both[0] / CLIPS:.1f} | {both[1] / CLIPS:.1f} | {both[0] / both[1]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--step", type=int, default=4)
    parser.add_argument("--only", nargs="*", default=None, help="candidates to measure (today always)")
    parser.add_argument("--references-only", action="store_true")
    parser.add_argument("--no-clips", action="store_true")
    parser.add_argument("--clips-only", action="store_true", help="only the demo's clips, old settings and product")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    if args.references_only:
        for scene in SCENES:
            reference(*scene, args.step)
        return
    names = list(CANDIDATES) if not args.only else ["today", *[n for n in args.only if n != "today"]]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.exit(2, f"--only: unknown candidate {', '.join(unknown)}\n")
    work = CACHE / "work"
    if not args.clips_only:
        report(measure(names, args.step, work))
    if not args.no_clips:
        whole_clips(work)


if __name__ == "__main__":
    main()
