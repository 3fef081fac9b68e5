"""Draw scene recipes from a seed, with random access: combination i depends on (seed, i) only.

Each index gets its own RNG seeded from (seed, index), so a worker can derive any
combination without generating the ones before it, and changing one entry never shifts others.
A recipe whose shot breaks a composition rule is slowed down or redrawn from the same stream,
so redraws keep that property.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simian.assets.catalog import BUILTIN_BACKGROUNDS, BUILTIN_FLOORS, BUILTIN_OBJECTS
from simian.captions.long import (
    CENTRING_MOVES,
    MIN_VISIBLE_SLIDE,
    describe,
    first_frame_span,
    floor_slide_motion,
    motion_blur_shows,
)
from simian.captions.styles import with_styles
from simian.combine.variants import camera_variant
from simian.recipe.combination import (
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
from simian.recipe.vocabulary import (
    CAMERA_MOVES,
    FOV_RANGE,
    SCALE_WEIGHTS,
    SCALES,
    SHOT_SIZE_WEIGHTS,
    SHOT_SIZES,
    SPEED_FACTOR_RANGE,
    MovementDirection,
    effect_level,
    shot_size_for,
)
from simian.scene import composition, effects
from simian.scene.composition import plan_scene
from simian.scene.plan import PLANNED_CLIP, Clip, ScenePlan, follow_index, horizontal_axes, rest_positions
from simian.scene.recognition import BUSY_FLOORS, FLOOR_UNITS_M, MAX_PITCH, THIN_PARTS, min_visible_short_side
from simian.scene.shapes import FACING_FEATURES, feature_visible, shape_for

MOVEMENT_DIRECTIONS: tuple[MovementDirection, ...] = ("left", "right", "toward", "away", "up")
#: Draws tried per index before falling back to a shot that always works.
MAX_DRAWS = 12
#: Yaws are chosen at least this far (degrees) off every object's long axis; the plan checks the clip.
VIEW_MARGIN_DEG = 45.0


OBJECTS = tuple(BUILTIN_OBJECTS.values())
BACKGROUNDS = tuple(BUILTIN_BACKGROUNDS.values())
FLOORS = tuple(BUILTIN_FLOORS.values())


class CombinerOptions(BaseModel):
    """How scenes are drawn from a seed. Defined once: CLI flags and flow parameters derive from it."""

    # Strict: a string is not a number, a bool not an int.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    max_objects: int = Field(default=3, ge=1, le=9, description="At most this many objects per scene, 1-9")
    movement: bool = Field(default=False, description="Objects move, in directions relative to the camera")
    ontop: bool = Field(default=False, description="Objects may stand on top of each other")
    camera_follow: bool = Field(default=False, description="The camera follows one (moving) object")
    random: bool = Field(
        default=False, description="Flip a coin per scene for movement, ontop and camera_follow instead"
    )


#: Least motion of the picture over a clip for a camera move to be claimed, in frame widths (6 px at 320): slower
#: moves looked still on the labelled frames (bench/CAPTION_TRUTH.md, claim labels).
MIN_VISIBLE_MOTION = 0.02
MAX_SPEED_UP = 4.0


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


def _view_score(draft: Combination, yaw: float) -> tuple[bool, int, float]:
    """How good a camera yaw is: no object seen along its long axis, named features facing the
    camera, and objects spread widest across the image (the least occlusion)."""
    positions = rest_positions(draft)
    forward, right = horizontal_axes(yaw)
    pitch = math.radians(draft.orientation.pitch)
    ray = (forward[0] * math.cos(pitch), forward[1] * math.cos(pitch), -math.sin(pitch))
    recognisable = True
    facing = 0
    for obj in draft.objects:
        axis = shape_for(obj.asset).long_axis
        if axis is not None:
            cos = abs(sum(r * a for r, a in zip(ray, axis, strict=True)))
            recognisable &= cos < math.cos(math.radians(VIEW_MARGIN_DEG))
        feature = FACING_FEATURES.get(obj.asset)
        if feature is not None:
            facing += feature_visible(feature, -forward[0], -forward[1])
    xs = sorted({round(p[0] * right[0] + p[1] * right[1], 3) for p in positions})
    if len(xs) < 2:
        spread = 0.0 if len(set(positions)) > 1 else math.inf
    else:
        spread = min(b - a for a, b in zip(xs, xs[1:], strict=False))
    return recognisable, facing, spread


def _choose_yaw(rng: random.Random, draft: Combination) -> float:
    candidates = [round(rng.uniform(0, 360), 1) for _ in range(8)]
    return max(candidates, key=lambda yaw: _view_score(draft, yaw))


def _postprocessing(rng: random.Random) -> PostProcessing:
    bloom = round(rng.uniform(0, 1), 3)
    ao = round(rng.uniform(0, 1), 3)
    blur = round(rng.uniform(0, 1), 3)
    return PostProcessing(
        bloom=Bloom(intensity=bloom, threshold=round(rng.uniform(0.7, 1.0), 3), level=effect_level(bloom)),
        ambient_occlusion=AmbientOcclusion(factor=ao, distance=round(rng.uniform(0.2, 1.2), 3), level=effect_level(ao)),
        motion_blur=MotionBlur(shutter=blur, level=effect_level(blur)),
    )


def _framing(rng: random.Random) -> Framing:
    """A lens and, independently, a shot size: the plan moves the camera to give that shot."""
    shot = rng.choices(SHOT_SIZES, weights=SHOT_SIZE_WEIGHTS)[0]
    low, high = max(shot.span_min, 0.12), min(shot.span_max, 0.92)
    inset = 0.15 * (high - low)
    span = rng.uniform(low + inset, high - inset)
    return Framing(fov=float(rng.randint(*FOV_RANGE)), coverage_factor=round(1 / span, 3), name=shot.name)


def _draw(rng: random.Random, opts: CombinerOptions, seed: int, index: int) -> Combination:
    """One random recipe, before its shot is checked."""
    movement, ontop, follow = opts.movement, opts.ontop, opts.camera_follow
    if opts.random:
        movement, ontop, follow = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    objects = _objects(rng, opts, ontop, movement)
    movers = [i for i, o in enumerate(objects) if o.movement is not None]
    moves = list(CAMERA_MOVES)
    if follow and movers:
        # The camera travels with one mover; the rest of the scene is what slides past it.
        chosen = rng.choice(movers)
        objects = [
            o.model_copy(update={"camera_follow": True} if i == chosen else {"movement": None})
            for i, o in enumerate(objects)
        ]
        moves = sorted(CENTRING_MOVES)
    background = rng.choice(BACKGROUNDS)
    floor = rng.choice(FLOORS)
    if floor.ref in BUSY_FLOORS and any(o.asset in THIN_PARTS for o in objects):
        floor = rng.choice([f for f in FLOORS if f.ref not in BUSY_FLOORS])  # a thin shade or pole vanishes there
    if floor.ref in FLOOR_UNITS_M and any(o.camera_follow for o in objects):
        # Following, the floor sliding past is what shows the motion; 20 cm bricks blur into red paving from afar.
        floor = rng.choice([f for f in FLOORS if f.ref not in FLOOR_UNITS_M and f.ref != floor.ref])
    draft = Combination(
        index=index,
        seed=seed,
        objects=objects,
        background=Background(asset=background.ref, name=background.name),
        orientation=Orientation(yaw=0.0, pitch=float(rng.randint(5, 50))),
        framing=_framing(rng),
        animation=CameraAnimation(
            name=rng.choice(moves),  # type: ignore[arg-type]
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
    yaw = _choose_yaw(rng, draft)
    return draft.model_copy(update={"orientation": Orientation(yaw=yaw, pitch=draft.orientation.pitch)})


def _slower(c: Combination, factor: float) -> Combination:
    """The same recipe with the camera move and every object slower by `factor`."""
    objects = [
        o
        if o.movement is None
        else o.model_copy(
            update={"movement": o.movement.model_copy(update={"speed": max(0.01, round(o.movement.speed * factor, 2))})}
        )
        for o in c.objects
    ]
    speed = max(0.1, round(c.animation.speed_factor * factor, 2))
    animation = c.animation.model_copy(update={"speed_factor": speed})
    return c.model_copy(update={"objects": objects, "animation": animation})


def _readable_elevation(c: Combination) -> Combination:
    """The recipe with the camera no higher than every object's type reads from (an umbrella not from above)."""
    highest = min(MAX_PITCH.get(o.asset, 90.0) for o in c.objects)
    if c.orientation.pitch <= highest:
        return c
    return c.model_copy(update={"orientation": Orientation(yaw=c.orientation.yaw, pitch=highest - 5.0)})


def _fitted(draft: Combination, clip: Clip) -> tuple[Combination, ScenePlan] | None:
    """The recipe with a shot that keeps every rule over `clip`, lowering the camera to an elevation every object
    reads from and slowing its motion if that is what it takes."""
    candidate = _readable_elevation(draft)
    for _ in range(3):
        plan = plan_scene(candidate, clip)
        if not plan.problems:
            return _visible_move(candidate, plan, clip)
        if not any(p.kind in ("out_of_frame", "move_limited") for p in plan.problems):
            return None
        candidate = _slower(candidate, 0.6)
    return None


def _visible_move(c: Combination, plan: ScenePlan, clip: Clip) -> tuple[Combination, ScenePlan]:
    """A camera move a viewer can see: one that moves the picture by less than `MIN_VISIBLE_MOTION` over the clip
    (a slow zoom of a degree, an orbit over round objects) claims what no frame shows, so it is sped up until it
    shows, within the plan's limits, or else the camera holds still. A followed mover whose floor barely slides
    (the only thing that shows it moving) is sped up the same way."""
    c, plan = _visible_follow(c, plan, clip)
    moved = _picture_motion(plan)
    if c.animation.name == "static" or moved >= MIN_VISIBLE_MOTION:
        return c, plan
    factor = min(MAX_SPEED_UP, 1.25 * MIN_VISIBLE_MOTION / max(moved, 1e-6))
    animation = c.animation.model_copy(update={"speed_factor": round(c.animation.speed_factor * factor, 2)})
    faster = c.model_copy(update={"animation": animation})
    faster_plan = plan_scene(faster, clip)
    if not faster_plan.problems and _picture_motion(faster_plan) >= MIN_VISIBLE_MOTION:
        return faster, faster_plan
    still = c.model_copy(update={"animation": CameraAnimation(name="static")})
    still_plan = plan_scene(still, clip)
    return (still, still_plan) if not still_plan.problems else (c, plan)


def _visible_follow(c: Combination, plan: ScenePlan, clip: Clip) -> tuple[Combination, ScenePlan]:
    followed = follow_index(c)
    if followed is None or not plan.moves(followed) or c.animation.name not in CENTRING_MOVES:
        return c, plan
    slide = floor_slide_motion(plan, followed)[1]
    if slide >= MIN_VISIBLE_SLIDE:
        return c, plan
    factor = min(MAX_SPEED_UP, 1.25 * MIN_VISIBLE_SLIDE / max(slide, 1e-6))
    objects = [
        o.model_copy(update={"movement": o.movement.model_copy(update={"speed": round(o.movement.speed * factor, 2)})})
        if i == followed and o.movement is not None
        else o
        for i, o in enumerate(c.objects)
    ]
    faster = c.model_copy(update={"objects": objects})
    faster_plan = plan_scene(faster, clip)
    if not faster_plan.problems and floor_slide_motion(faster_plan, followed)[1] >= MIN_VISIBLE_SLIDE:
        return faster, faster_plan
    return c, plan


def _picture_motion(plan: ScenePlan) -> float:
    """How far the picture moves over the clip, in frame widths."""
    return composition.screen_speed(plan.frame_boxes, plan.clip) * plan.clip.duration_s


def _fallback(draft: Combination) -> Combination:
    """A shot that always works: the first object alone, a still camera, a medium shot from the front-right."""
    obj = draft.objects[0].model_copy(update={"placement": 4, "movement": None, "camera_follow": False})
    return draft.model_copy(
        update={
            "objects": [obj],
            "orientation": Orientation(yaw=45.0, pitch=20.0),
            "framing": Framing(fov=draft.framing.fov, coverage_factor=round(1 / 0.44, 3), name="medium"),
            "animation": CameraAnimation(name="static"),
        }
    )


def _blur_hides_an_object(c: Combination, plan: ScenePlan) -> bool:
    """Whether the smear would leave an object too thin to name: a small robot blurred by a fifth of its width is a
    grey streak (seed 31 #7 of the claim labels). The object's visible short side less the smear must still pass
    the recognition rule."""
    smear = composition.motion_blur_pixels(plan, effects.shutter_for(c.postprocessing.motion_blur.level))
    smear /= plan.clip.height
    for i, o in enumerate(c.objects):
        seen = composition.visible_short_side(plan, i)
        if seen is not None and seen - smear < min_visible_short_side(o.asset, c.orientation.yaw):
            return True
    return False


def _settle(c: Combination, plan: ScenePlan) -> Combination:
    """Record what the shot turned out to be: its shot size, and no motion blur where nothing moves
    enough to show it."""
    shot = shot_size_for(first_frame_span(plan))
    update: dict = {"framing": c.framing.model_copy(update={"name": shot.name})}
    blur = c.postprocessing.motion_blur.level
    if blur != "none" and (not motion_blur_shows(c, plan) or _blur_hides_an_object(c, plan)):
        update["postprocessing"] = c.postprocessing.model_copy(
            update={"motion_blur": MotionBlur(shutter=0.0, level="none")}
        )
    return c.model_copy(update=update)


def combination_for(
    seed: int, index: int, options: CombinerOptions | None = None, variant: int = 0, clip: Clip = PLANNED_CLIP
) -> Combination:
    """Entry `index` of the file `simian combine --seed seed` would write, computed alone; with `variant`, that
    scene under another camera move (`simian.combine.variants`), its scene worded alike. The shot is framed and the
    captions are written for `clip` (the render's size, frame count and rate; default: the planned clip).

    A drawn recipe whose shot cannot keep every object whole and visible is redrawn from the same
    random stream, so (seed, index) always gives the same final recipe.
    """
    opts = options or CombinerOptions()
    rng = rng_for(seed, index)
    result = None
    draft = None
    for _ in range(MAX_DRAWS):
        draft = _draw(rng, opts, seed, index)
        result = _fitted(draft, clip)
        if result is not None:
            break
    if result is None:
        fallback = _fallback(draft)  # type: ignore[arg-type]
        result = (fallback, plan_scene(fallback, clip))
    settled = _settle(*result)
    if variant == 0:
        # Settling names the shot and may drop motion blur, which no plan reads: the fitted plan is the settled
        # recipe's plan, field for field, without fitting the shot again (a third of a recipe's derivation).
        combination, plan = settled, dataclasses.replace(result[1], combination=settled)
    else:
        combination, plan = camera_variant(settled, variant, seed, clip)
    description = describe(combination, rng, plan)
    combination = combination.model_copy(update={"captions": description.sections, "caption": description.caption})
    return with_styles(combination, plan, description)


def combine(seed: int, count: int, options: CombinerOptions | None = None, clip: Clip = PLANNED_CLIP) -> dict[str, Any]:
    """The content of a combinations file: `{"seed", "count", "combinations": [...]}`, framed for `clip`."""
    return {
        "seed": seed,
        "count": count,
        "combinations": [combination_for(seed, i, options, clip=clip).model_dump(mode="json") for i in range(count)],
    }
