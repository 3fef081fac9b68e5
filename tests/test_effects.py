"""Effect levels: the committed calibration, and a captioned level visibly changing a real render."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest

from simian.combine.combiner import CombinerOptions, combination_for
from simian.recipe.combination import Combination
from simian.recipe.vocabulary import EFFECT_PHRASES
from simian.render.render_settings import RenderSettings
from simian.scene import effects

REPO = Path(__file__).resolve().parents[1]
LEVELS = ("low", "medium", "high")


def test_committed_numbers_are_the_calibration_run():
    run = json.loads((REPO / "bench" / "effects_calibration.json").read_text())
    assert run["settings"]["width"] == 320 and run["settings"]["samples"] == 8
    assert run["step"] == effects.PERCEPTIBLE_STEP
    assert max(run["repeat"].values()) == 0.0, "renders repeat exactly: a difference is the effect's"
    for effect in ("bloom", "ambient_occlusion", "motion_blur"):
        for level in LEVELS:
            assert run[effect][level] == effects.MEASURED[effect][level], (effect, level)


def test_levels_grow_stronger():
    for lower, higher in zip(LEVELS, LEVELS[1:], strict=False):
        assert effects.BLOOM[higher].spread <= effects.BLOOM[lower].spread
        assert effects.BLOOM[higher].strength > effects.BLOOM[lower].strength
        assert effects.AMBIENT_OCCLUSION[higher].contrast > effects.AMBIENT_OCCLUSION[lower].contrast
        assert effects.AMBIENT_OCCLUSION[higher].distance > effects.AMBIENT_OCCLUSION[lower].distance
        assert effects.SHUTTER[higher] > effects.SHUTTER[lower]


def test_levels_measured_invisible_are_never_captioned():
    invisible = [
        (effect, level, key)
        for effect in effects.MEASURED
        for level, shares in effects.MEASURED[effect].items()
        for key, share in shares.items()
        if share < effects.PERCEPTIBLE_SHARE
    ]
    for effect, level, key in invisible:
        background, _, floor = key.partition("+")
        assert not effects.is_visible(effect, level, f"builtin:{background}", f"builtin:{floor}" if floor else None)
    # Unknown backgrounds and floors stand on the least of what was measured.
    least = min(effects.MEASURED["bloom"]["low"].values())
    assert effects.is_visible("bloom", "low", "polyhaven:x", "polyhaven:y") == (least >= effects.PERCEPTIBLE_SHARE)
    for index in range(80):
        c = combination_for(18, index, CombinerOptions(random=True))
        for effect, level in (
            ("bloom", c.postprocessing.bloom.level),
            ("ambient_occlusion", c.postprocessing.ambient_occlusion.level),
        ):
            key = f"{c.background.asset.removeprefix('builtin:')}+{c.stage.floor.removeprefix('builtin:')}"
            shares = effects.MEASURED[effect].get(level, {})
            share = shares.get(key, shares.get(key.split("+")[0], 1.0))
            if level != "none" and share < effects.PERCEPTIBLE_SHARE:
                assert EFFECT_PHRASES[effect][level] not in (c.caption or "")


def _render(combination: Combination, frame: int) -> np.ndarray:
    import bpy

    from simian.render.blender.scene import build_scene

    settings = RenderSettings(width=320, height=180, samples=8, device="cpu", images=True)
    with tempfile.TemporaryDirectory() as tmp:
        build_scene(combination, settings, {}, Path(tmp), [])
        scene = bpy.context.scene
        scene.frame_start = scene.frame_end = frame
        bpy.ops.render.render(animation=True)
        with av.open(str(next(Path(tmp).glob("frame_*.png")))) as container:
            return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.int16)


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).max(axis=2) >= effects.PERCEPTIBLE_STEP).mean())


def _with(c: Combination, **levels: dict) -> Combination:
    pp = c.postprocessing.model_dump()
    for name, values in levels.items():
        pp[name].update(values)
    return Combination.model_validate({**c.model_dump(), "postprocessing": pp})


@pytest.mark.blender
def test_low_levels_visibly_change_a_render_and_blur_shows_on_the_first_frame():
    none = {"bloom": {"level": "none"}, "ambient_occlusion": {"level": "none"}, "motion_blur": {"level": "none"}}
    base = _with(combination_for(18, 0), **none)
    base = Combination.model_validate(
        {
            **base.model_dump(),
            "background": {"asset": "builtin:clear_sky", "name": "clear blue sky"},
            "orientation": {"yaw": 30.0, "pitch": 8.0},
            "objects": [
                {**base.objects[0].model_dump(), "asset": "builtin:robot", "movement": None, "camera_follow": False}
            ],
            "animation": {"name": "static", "speed_factor": 1.0},
        }
    )
    plain = _render(base, 1)
    assert _changed(plain, _render(_with(base, bloom={"level": "low"}), 1)) >= effects.PERCEPTIBLE_SHARE
    assert _changed(plain, _render(_with(base, ambient_occlusion={"level": "low"}), 1)) >= effects.PERCEPTIBLE_SHARE
    moving = Combination.model_validate(
        {
            **base.model_dump(),
            "objects": [{**base.objects[0].model_dump(), "movement": {"direction": "left", "speed": 2.0}}],
        }
    )
    blurred = _with(moving, motion_blur={"level": "high", "shutter": 1.0})
    first, middle, last = (_changed(_render(moving, f), _render(blurred, f)) for f in (1, 12, 24))
    assert middle >= effects.PERCEPTIBLE_SHARE
    # Without motion beyond the clip, the first and last frames get half the smear (measured: 0.71).
    assert min(first, last) >= 0.85 * middle, f"first/last frames sharper: {first:.3f}, {middle:.3f}, {last:.3f}"
