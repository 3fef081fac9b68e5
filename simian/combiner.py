"""Draw scene recipes from a seed, with random access: combination i depends on (seed, i) only.

Each index gets its own RNG seeded from (seed, index), so a worker can derive any
combination without generating the ones before it, and changing one entry never shifts others.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simian.assets.catalog import BUILTIN_BACKGROUNDS, BUILTIN_FLOORS, BUILTIN_OBJECTS
from simian.captions import with_captions
from simian.combination import (
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
from simian.scene_plan import horizontal_axes, rest_positions
from simian.vocabulary import (
    CAMERA_MOVES,
    FRAMINGS,
    SCALE_WEIGHTS,
    SCALES,
    SPEED_FACTOR_RANGE,
    MovementDirection,
    effect_level,
)

MOVEMENT_DIRECTIONS: tuple[MovementDirection, ...] = ("left", "right", "toward", "away", "up")


OBJECTS = tuple(BUILTIN_OBJECTS.values())
BACKGROUNDS = tuple(BUILTIN_BACKGROUNDS.values())
FLOORS = tuple(BUILTIN_FLOORS.values())


class CombinerOptions(BaseModel):
    """How scenes are drawn from a seed. Defined once: CLI flags and flow parameters derive from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_objects: int = Field(default=3, ge=1, le=9, description="At most this many objects per scene, 1-9")
    movement: bool = Field(default=False, description="Objects move, in directions relative to the camera")
    ontop: bool = Field(default=False, description="Objects may stand on top of each other")
    camera_follow: bool = Field(default=False, description="The camera follows one (moving) object")
    random: bool = Field(
        default=False, description="Flip a coin per scene for movement, ontop and camera_follow instead"
    )


def rng_for(seed: int, index: int) -> random.Random:
    digest = hashlib.sha256(f"simian:{seed}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _objects(rng: random.Random, opts: CombinerOptions, ontop: bool, movement: bool) -> list[SceneObject]:
    count = rng.randint(1, opts.max_objects)
    free = [c for c in range(9) if c != 4]
    rng.shuffle(free)
    placements = [4]
    for _ in range(count - 1):
        if ontop and rng.random() < 0.5:
            placements.append(rng.choice(placements))
        else:
            placements.append(free.pop())
    objects = []
    for placement in placements:
        entry = rng.choice(OBJECTS)
        scale_name = rng.choices(list(SCALES), weights=SCALE_WEIGHTS)[0]
        factor = SCALES[scale_name]
        move = None
        if movement and placements.count(placement) == 1:
            speed = round(rng.uniform(0.15, 0.6) * max(0.5, factor), 2)
            move = ObjectMovement(direction=rng.choice(MOVEMENT_DIRECTIONS), speed=speed)
        objects.append(
            SceneObject(
                asset=entry.ref,
                name=entry.name,
                description=entry.description,
                placement=placement,
                scale=ObjectScale(factor=factor, name=scale_name),
                movement=move,
            )
        )
    return objects


def _least_occluded_yaw(rng: random.Random, objects: Sequence[SceneObject], draft: Combination) -> float:
    """Of a few random yaws, the one that spreads the objects widest across the image."""
    positions = rest_positions(draft)
    candidates = [round(rng.uniform(0, 360), 1) for _ in range(8)]

    def spread(yaw: float) -> float:
        _, right = horizontal_axes(yaw)
        xs = sorted({round(p[0] * right[0] + p[1] * right[1], 3) for p in positions})
        if len(xs) < 2:
            return 0.0 if len(set(positions)) > 1 else math.inf
        return min(b - a for a, b in zip(xs, xs[1:], strict=False))

    return max(candidates, key=spread)


def _postprocessing(rng: random.Random) -> PostProcessing:
    bloom = round(rng.uniform(0, 1), 3)
    ao = round(rng.uniform(0, 1), 3)
    blur = round(rng.uniform(0, 1), 3)
    return PostProcessing(
        bloom=Bloom(intensity=bloom, threshold=round(rng.uniform(0.7, 1.0), 3), level=effect_level(bloom)),
        ambient_occlusion=AmbientOcclusion(factor=ao, distance=round(rng.uniform(0.2, 1.2), 3), level=effect_level(ao)),
        motion_blur=MotionBlur(shutter=blur, level=effect_level(blur)),
    )


def combination_for(seed: int, index: int, options: CombinerOptions | None = None) -> Combination:
    """Entry `index` of the file `simian combine --seed seed` would write, computed alone."""
    opts = options or CombinerOptions()
    rng = rng_for(seed, index)
    movement, ontop, follow = opts.movement, opts.ontop, opts.camera_follow
    if opts.random:
        movement, ontop, follow = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    objects = _objects(rng, opts, ontop, movement)
    if follow:
        movers = [i for i, o in enumerate(objects) if o.movement is not None] or list(range(len(objects)))
        chosen = rng.choice(movers)
        objects[chosen] = objects[chosen].model_copy(update={"camera_follow": True})
    background = rng.choice(BACKGROUNDS)
    floor = rng.choice(FLOORS)
    fov = rng.randint(20, 75)
    framing_range = next(f for f in FRAMINGS if f.fov_min <= fov <= f.fov_max)
    draft = Combination(
        index=index,
        seed=seed,
        objects=objects,
        background=Background(asset=background.ref, name=background.name),
        orientation=Orientation(yaw=0.0, pitch=float(rng.randint(5, 50))),
        framing=Framing(
            fov=float(fov),
            coverage_factor=round(rng.uniform(framing_range.coverage_min, framing_range.coverage_max), 3),
            name=framing_range.name,
        ),
        animation=CameraAnimation(
            name=rng.choice(list(CAMERA_MOVES)),  # type: ignore[arg-type]
            speed_factor=round(rng.uniform(*SPEED_FACTOR_RANGE), 2),
        ),
        stage=Stage(
            floor=floor.ref,
            name=floor.name,
            uv_scale=(round(rng.uniform(0.8, 1.2), 3), round(rng.uniform(0.8, 1.2), 3)),
            uv_rotation=round(rng.uniform(0, 360), 1),
        ),
        postprocessing=_postprocessing(rng),
    )
    yaw = _least_occluded_yaw(rng, objects, draft)
    draft = draft.model_copy(update={"orientation": Orientation(yaw=yaw, pitch=draft.orientation.pitch)})
    return with_captions(draft, rng)


def combine(seed: int, count: int, options: CombinerOptions | None = None) -> dict[str, Any]:
    """The content of a combinations file: `{"seed", "count", "combinations": [...]}`."""
    return {
        "seed": seed,
        "count": count,
        "combinations": [combination_for(seed, i, options).model_dump(mode="json") for i in range(count)],
    }
