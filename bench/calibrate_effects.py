"""Calibrate post-processing levels: does each captioned level visibly change the image?

Renders drawn combinations (the combiner's own shots: two per built-in background and floor,
two moving ones per background; effects off) at the default render size (320x180, 8 samples,
Cycles on the CPU) through the real renderer (`build_scene`), then again with each effect at each
level, and measures the share of pixels whose 8-bit sRGB value changes by at least
`effects.PERCEPTIBLE_STEP` in some channel:

- bloom over the whole frame, per background and floor (a bright floor fills most shots);
- ambient occlusion over the frame or around the objects, where it acts (the union of the
  objects' image boxes grown by a quarter on each side; the larger share counts), the least over
  a background's shots;
- motion blur around the moving objects at the first and the middle frame of moving shots (both
  must show it), sped up until even the low level smears by `MIN_BLUR_PIXELS`; with each level's
  smear in pixels.

A repeat render with the same seed checks that the renders are deterministic, so a difference is
the effect's and not noise.

    .venv/bin/python bench/calibrate_effects.py        # about 30 minutes on 2 cores

writes bench/effects_calibration.json; `simian/scene/effects.py` holds a copy of the shares and
captions a level only where its share is at least `effects.PERCEPTIBLE_SHARE`.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simian.assets.catalog import BUILTIN_BACKGROUNDS, BUILTIN_FLOORS  # noqa: E402
from simian.combine.combiner import CombinerOptions, combination_for  # noqa: E402
from simian.recipe.combination import Combination  # noqa: E402
from simian.render.render_settings import RenderSettings  # noqa: E402
from simian.scene import effects  # noqa: E402
from simian.scene.composition import (  # noqa: E402
    MIN_BLUR_PIXELS,
    motion_blur_pixels,
    plan_scene,  # noqa: E402
)
from simian.scene.projection import Box2D  # noqa: E402

SETTINGS = RenderSettings(width=320, height=180, frames=24, fps=24, samples=8, device="cpu", images=True)
LEVELS = ("low", "medium", "high")
STILL_SHOTS = 2  # per background and floor, for bloom and ambient occlusion
MOVING_SHOTS = 2  # per background, for motion blur
SEED = 900
OFF = {"bloom": {"level": "none"}, "ambient_occlusion": {"level": "none"}, "motion_blur": {"level": "none"}}


def with_effects(c: Combination, **levels: dict[str, Any]) -> Combination:
    pp = c.postprocessing.model_dump()
    for name, values in {**OFF, **levels}.items():
        pp[name] = {**pp[name], **values}
    return Combination.model_validate({**c.model_dump(), "postprocessing": pp})


def still_shots(background: str, floor: str) -> list[Combination]:
    """The first drawn combinations over `background` and `floor`, effects off."""
    options = CombinerOptions(backgrounds=(BUILTIN_BACKGROUNDS[background],), floors=(BUILTIN_FLOORS[floor],))
    return [with_effects(combination_for(SEED, i, options)) for i in range(STILL_SHOTS)]


def moving_shots(background: str) -> list[Combination]:
    """The first drawn shots over `background` with a moving object, sped up so that even the low
    level smears by a little more than `MIN_BLUR_PIXELS`: what remains to measure is whether the
    smear shows against that background's light."""
    options = CombinerOptions(movement=True, backgrounds=(BUILTIN_BACKGROUNDS[background],))
    shots = []
    index = 0
    while len(shots) < MOVING_SHOTS:
        c = with_effects(combination_for(SEED + 1, index, options))
        index += 1
        if not any(o.movement for o in c.objects):
            continue
        for _ in range(8):  # the plan refits the camera to the faster motion, so approach the target
            smear = motion_blur_pixels(plan_scene(c), effects.shutter_for("low"))
            if smear >= MIN_BLUR_PIXELS + 0.5 or smear <= 0:
                break
            objects = [o.model_dump() for o in c.objects]
            for o in objects:
                if o["movement"]:
                    o["movement"]["speed"] = min(20.0, round(o["movement"]["speed"] * 1.5, 3))
            c = Combination.model_validate({**c.model_dump(), "objects": objects})
        plan = plan_scene(c)
        if not plan.problems and motion_blur_pixels(plan, effects.shutter_for("low")) >= MIN_BLUR_PIXELS:
            shots.append(c)
    return shots


def render_frame(combination: Combination, frame: int, keep: Path | None = None) -> np.ndarray:
    """One frame through the real scene builder, as 8-bit sRGB (a copy of the PNG kept as `keep`)."""
    import bpy

    from simian.render.blender.scene import build_scene

    with tempfile.TemporaryDirectory() as tmp:
        build_scene(combination, SETTINGS, {}, Path(tmp), [])
        scene = bpy.context.scene
        scene.frame_start = scene.frame_end = frame
        bpy.ops.render.render(animation=True)
        png = next(Path(tmp).glob("frame_*.png"))
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, keep)
        with av.open(str(png)) as container:
            return next(container.decode(video=0)).to_ndarray(format="rgb24")


def around(boxes: list[Box2D | None], width: int, height: int, grow: float = 0.25) -> np.ndarray:
    """Pixel mask of the union of the boxes, each grown by `grow` of its size on every side."""
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        if box is None:
            continue
        dx, dy = box.width * grow, box.height * grow
        x0, x1 = int(max(0.0, box.x0 - dx) * width), int(np.ceil(min(1.0, box.x1 + dx) * width))
        y0, y1 = int(max(0.0, box.y0 - dy) * height), int(np.ceil(min(1.0, box.y1 + dy) * height))
        mask[y0:y1, x0:x1] = True
    return mask


def changed_share(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Share of pixels that changed visibly: of the frame, or (with `mask`) of the frame or of the
    masked region around the objects, whichever is larger (a local effect on small objects counts)."""
    changed = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2) >= effects.PERCEPTIBLE_STEP
    if mask is None or not mask.any():
        return float(changed.mean())
    return float(max(changed.mean(), changed[mask].mean()))


def calibrate() -> dict[str, Any]:
    results: dict[str, Any] = {
        "settings": SETTINGS.model_dump(mode="json"),
        "step": effects.PERCEPTIBLE_STEP,
        "bloom": {},
        "ambient_occlusion": {},
        "motion_blur": {},
        "repeat": {},
        "shots": {},
    }
    for background in BUILTIN_BACKGROUNDS:
        occlusion: dict[str, list[float]] = {level: [] for level in LEVELS}
        for floor in BUILTIN_FLOORS:
            key = f"{background.removeprefix('builtin:')}+{floor.removeprefix('builtin:')}"
            bloom: dict[str, list[float]] = {level: [] for level in LEVELS}
            for shot in still_shots(background, floor):
                results["shots"].setdefault(key, []).append(shot.caption)
                plain = render_frame(shot, 1)
                if floor == next(iter(BUILTIN_FLOORS)):
                    results["repeat"][background] = changed_share(plain, render_frame(shot, 1))
                region = around(list(plan_scene(shot).frame_boxes[0]), SETTINGS.width, SETTINGS.height)
                for level in LEVELS:
                    glowing = render_frame(with_effects(shot, bloom={"level": level}), 1)
                    bloom[level].append(changed_share(plain, glowing))
                    image = render_frame(with_effects(shot, ambient_occlusion={"level": level}), 1)
                    occlusion[level].append(changed_share(plain, image, region))
            for level in LEVELS:
                results["bloom"].setdefault(level, {})[key] = round(min(bloom[level]), 4)
            print(
                f"{key:28s} bloom {[[round(v, 3) for v in bloom[lv]] for lv in LEVELS]} "
                f"ambient occlusion {[round(occlusion[lv][-1], 3) for lv in LEVELS]}",
                flush=True,
            )
        for level in LEVELS:
            results["ambient_occlusion"].setdefault(level, {})[background.removeprefix("builtin:")] = round(
                min(occlusion[level]), 4
            )
        blur: dict[str, list[float]] = {level: [] for level in LEVELS}
        smear: dict[str, list[float]] = {level: [] for level in LEVELS}
        for c in moving_shots(background):
            plan = plan_scene(c)
            for frame in (1, SETTINGS.frames // 2):
                boxes = [*plan.frame_boxes[frame - 1], *plan.frame_boxes[frame]]
                region = around(boxes, SETTINGS.width, SETTINGS.height)
                plain = render_frame(c, frame)
                for level in LEVELS:
                    image = render_frame(with_effects(c, motion_blur={"level": level, "shutter": 1.0}), frame)
                    blur[level].append(changed_share(plain, image, region))
            for level in LEVELS:
                smear[level].append(round(motion_blur_pixels(plan, effects.shutter_for(level)), 2))
        for level in LEVELS:
            results["motion_blur"].setdefault(level, {})[background.removeprefix("builtin:")] = round(
                min(blur[level]), 4
            )
        results.setdefault("smear_pixels", {})[background] = smear
        print(f"{background:18s} motion blur {blur} smear {smear}", flush=True)
    return results


def main() -> None:
    began = time.perf_counter()
    results = calibrate()
    results["seconds"] = round(time.perf_counter() - began, 1)
    out = REPO / "bench" / "effects_calibration.json"
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} in {results['seconds']} s")


if __name__ == "__main__":
    main()
