"""Calibrate post-processing levels: does each captioned level visibly change the image?

Renders reference scenes at the default render size (320x180, 8 samples, Cycles on the CPU) with
each effect off and at each level, through the real renderer (`build_scene`), and measures the
share of pixels whose 8-bit sRGB value changes by at least `effects.PERCEPTIBLE_STEP` in some
channel, minus the share that changes between two renders that differ only in their noise seed
(the noise floor). Bloom and ambient occlusion are measured over every built-in background;
motion blur on a moving object at the first, middle and last frame (blur must show on all three).

    .venv/bin/python bench/calibrate_effects.py            # writes bench/effects_calibration.json
    .venv/bin/python bench/calibrate_effects.py --old      # the settings before calibration, for comparison

`simian/effects.py` holds the levels these numbers were measured with and a copy of the bloom
and ambient-occlusion shares; a level is captioned only where its share is at least
`effects.PERCEPTIBLE_SHARE`.
"""

from __future__ import annotations

import argparse
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

from simian import effects  # noqa: E402
from simian.assets.catalog import BUILTIN_BACKGROUNDS  # noqa: E402
from simian.combination import (  # noqa: E402
    AmbientOcclusion,
    Background,
    Bloom,
    CameraAnimation,
    Combination,
    Framing,
    MotionBlur,
    ObjectMovement,
    ObjectScale,
    Orientation,
    PostProcessing,
    SceneObject,
    Stage,
)
from simian.composition import motion_blur_pixels  # noqa: E402
from simian.render.settings import RenderSettings  # noqa: E402
from simian.scene_plan import plan_scene  # noqa: E402

SETTINGS = RenderSettings(width=320, height=180, frames=24, fps=24, samples=8, device="cpu", images=True)
LEVELS = ("low", "medium", "high")


def _object(
    asset: str, name: str, placement: int, factor: float, movement: ObjectMovement | None = None
) -> SceneObject:
    return SceneObject(
        asset=asset, name=name, description=name, placement=placement,
        scale=ObjectScale(factor=factor, name="medium"), movement=movement,
    )


def reference_scenes(background: str, pp: PostProcessing) -> list[Combination]:
    """Two scenes per background: creases and bright spots (a table's legs, a chair's slats, a lamp's
    bulb, a robot's eyes) seen from above, and plain objects low against the sky."""
    common = {
        "index": 0,
        "background": Background(asset=background, name=background),
        "animation": CameraAnimation(name="static"),
        "postprocessing": pp,
    }
    return [
        Combination(
            objects=[
                _object("builtin:table", "table", 4, 1.0),
                _object("builtin:chair", "chair", 3, 1.0),
                _object("builtin:robot", "robot", 5, 1.0),
                _object("builtin:lamp", "lamp", 1, 0.75),
            ],
            orientation=Orientation(yaw=20.0, pitch=18.0),
            framing=Framing(fov=40.0, coverage_factor=1.6, name="medium"),
            stage=Stage(floor="builtin:concrete", name="concrete"),
            **common,
        ),
        Combination(
            objects=[
                _object("builtin:barrel", "barrel", 3, 0.75),
                _object("builtin:tree", "tree", 4, 1.5),
                _object("builtin:snowman", "snowman", 5, 1.0),
            ],
            orientation=Orientation(yaw=-30.0, pitch=6.0),
            framing=Framing(fov=50.0, coverage_factor=2.4, name="medium_wide"),
            stage=Stage(floor="builtin:grass", name="grass"),
            **common,
        ),
    ]


def moving_scene(pp: PostProcessing, speed: float) -> Combination:
    """A car driving left across a medium shot: how blur shows at each level and on every frame."""
    return Combination(
        index=0,
        objects=[_object("builtin:car", "car", 4, 1.0, ObjectMovement(direction="left", speed=speed))],
        background=Background(asset="builtin:clear_sky", name="clear sky"),
        orientation=Orientation(yaw=60.0, pitch=15.0),
        framing=Framing(fov=40.0, coverage_factor=2.2, name="medium"),
        animation=CameraAnimation(name="static"),
        stage=Stage(floor="builtin:checker_tiles", name="checkered tiles"),
        postprocessing=pp,
    )


def render_frame(
    combination: Combination, frame: int, seed_offset: int = 0, old: bool = False, keep: Path | None = None
) -> np.ndarray:
    """One frame through the real scene builder, as 8-bit sRGB (a copy of the PNG kept as `keep`)."""
    import bpy

    from simian.render.blender.scene import build_scene

    with tempfile.TemporaryDirectory() as tmp:
        build_scene(combination, SETTINGS, {}, Path(tmp), [])
        scene = bpy.context.scene
        if old:
            _apply_old_settings(scene, combination)
        scene.cycles.seed += seed_offset
        scene.frame_start = scene.frame_end = frame
        bpy.ops.render.render(animation=True)
        png = next(Path(tmp).glob("frame_*.png"))
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, keep)
        with av.open(str(png)) as container:
            return next(container.decode(video=0)).to_ndarray(format="rgb24")


def _apply_old_settings(scene: Any, combination: Combination) -> None:
    """The settings before calibration: the recipe's raw bloom threshold/intensity, AO factor and
    distance, and shutter, with the blur's first and last frames left without motion beyond them."""
    pp = combination.postprocessing
    tree = scene.compositing_node_group
    for node in tree.nodes if tree is not None else []:
        if node.bl_idname == "CompositorNodeGlare":
            node.inputs["Threshold"].default_value = pp.bloom.threshold
            node.inputs["Strength"].default_value = pp.bloom.intensity
            node.inputs["Size"].default_value = 0.5
            node.inputs["Quality"].default_value = "Medium"
        if node.bl_idname == "ShaderNodeMix":
            node.inputs["Factor"].default_value = pp.ambient_occlusion.factor
            scene.world.light_settings.distance = pp.ambient_occlusion.distance
    if scene.render.use_motion_blur:
        scene.render.motion_blur_shutter = max(pp.motion_blur.shutter, 0.01)
        from bpy_extras import anim_utils

        for owner in scene.objects:
            animation = owner.animation_data
            if animation is not None and animation.action is not None:
                for curve in anim_utils.animdata_get_channelbag_for_assigned_slot(animation).fcurves:
                    curve.extrapolation = "CONSTANT"


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return float((diff >= effects.PERCEPTIBLE_STEP).mean())


#: Raw recipe values in the middle of each level's band, as drawn before calibration.
OLD_VALUES = {"low": 0.25, "medium": 0.55, "high": 0.85}


def _pp(effect: str, level: str) -> PostProcessing:
    value = OLD_VALUES[level]
    if effect == "bloom":
        return PostProcessing(bloom=Bloom(intensity=value, threshold=0.85, level=level))
    if effect == "ambient_occlusion":
        return PostProcessing(ambient_occlusion=AmbientOcclusion(factor=value, distance=0.7, level=level))
    return PostProcessing(motion_blur=MotionBlur(shutter=value, level=level))


def calibrate(old: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"settings": SETTINGS.model_dump(mode="json"), "step": effects.PERCEPTIBLE_STEP,
                               "old": old, "bloom": {}, "ambient_occlusion": {}, "noise_floor": {}}
    for background in BUILTIN_BACKGROUNDS:
        plains = [render_frame(scene, 1) for scene in reference_scenes(background, PostProcessing())]
        reseeded = render_frame(reference_scenes(background, PostProcessing())[0], 1, seed_offset=17)
        results["noise_floor"][background] = round(changed_share(plains[0], reseeded), 4)
        for effect in ("bloom", "ambient_occlusion"):
            for level in LEVELS:
                scenes = reference_scenes(background, _pp(effect, level))
                # The least change over the reference scenes: a level must show in each of them.
                share = min(changed_share(p, render_frame(s, 1, old=old)) for p, s in zip(plains, scenes, strict=True))
                results[effect].setdefault(level, {})[background] = round(share, 4)
                print(f"{effect:18s} {level:7s} {background:20s} {share:.4f}", flush=True)
    speed = 1.2
    plan = plan_scene(moving_scene(PostProcessing(), speed))
    smear = {level: round(motion_blur_pixels(plan, effects.shutter_for(level)), 2) for level in LEVELS}
    blur: dict[str, Any] = {"speed_m_per_s": speed, "smear_pixels": smear, "frames": {}}
    for frame in (1, 12, 24):
        plain = render_frame(moving_scene(PostProcessing(), speed), frame)
        reseeded = render_frame(moving_scene(PostProcessing(), speed), frame, seed_offset=17)
        row = {"noise_floor": round(changed_share(plain, reseeded), 4)}
        for level in LEVELS:
            image = render_frame(moving_scene(_pp("motion_blur", level), speed), frame, old=old)
            row[level] = round(changed_share(plain, image), 4)
        blur["frames"][str(frame)] = row
        print(f"motion_blur frame {frame:2d} {row}", flush=True)
    results["motion_blur"] = blur
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="measure the settings before calibration")
    parser.add_argument("-o", "--output", default=None)
    args = parser.parse_args()
    began = time.perf_counter()
    results = calibrate(args.old)
    results["seconds"] = round(time.perf_counter() - began, 1)
    name = "effects_calibration_before.json" if args.old else "effects_calibration.json"
    out = Path(args.output) if args.output else REPO / "bench" / name
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} in {results['seconds']} s")


if __name__ == "__main__":
    main()
