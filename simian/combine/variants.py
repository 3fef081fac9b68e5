"""Camera variants: the same scene seen under several camera moves, and the names that keep them apart.

Variant 0 of a scene is its own recipe. Variant v (1, 2, ...) keeps everything but the camera move: the same
objects, background, floor, lighting, effects, camera position at rest (yaw, pitch), lens and intended shot,
and takes the v-th camera move, in an order drawn from (seed, index), that keeps every object whole and in
view (slowed if need be, as the combiner does). So a variant depends on (seed, index, variant) alone: any
worker derives any variant of any scene, and the variants of a scene never share a move.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from simian.captions.long import CENTRING_MOVES, first_frame_span
from simian.errors import InvalidInputError
from simian.recipe.combination import MAX_CAMERA_VARIANTS, CameraAnimation, Combination
from simian.recipe.vocabulary import CAMERA_MOVES, SPEED_FACTOR_RANGE, shot_size_for
from simian.scene.composition import plan_scene
from simian.scene.plan import PLANNED_CLIP, Clip, ScenePlan

#: The parts of a recipe that make its camera; a scene's variants differ in these and in their captions only.
CAMERA_FIELDS = ("orientation", "framing", "animation")
CAPTION_FIELDS = ("caption", "captions", "caption_short", "caption_camera", "captions_structured")
#: A variant's move is slowed by these factors, in turn, until its shot keeps every object in view.
SLOWDOWNS = (1.0, 0.6, 0.36)


@dataclass(frozen=True, order=True)
class VideoKey:
    """One video of a range: a scene index and its camera variant."""

    index: int
    variant: int = 0

    def label(self) -> str:
        """'7' for variant 0 (as a range without variants names it), '7-v1' for the others."""
        return str(self.index) if self.variant == 0 else f"{self.index}-v{self.variant}"

    @classmethod
    def parse(cls, label: str) -> VideoKey:
        index, _, variant = label.partition("-v")
        return cls(int(index), int(variant or 0))


def video_keys(start: int, end: int, variants: int) -> Iterator[VideoKey]:
    """Every video of scenes [start, end), each scene followed by its variants; derived as they are asked for, so a
    range of any length costs no memory."""
    for index in range(start, end):
        for variant in range(variants):
            yield VideoKey(index, variant)


def scene_id(c: Combination) -> str:
    """What the variants of a scene share: a digest of the recipe without its camera, captions, index and variant."""
    scene = c.model_dump(mode="json", exclude={"index", "variant", *CAMERA_FIELDS, *CAPTION_FIELDS})
    return hashlib.sha256(json.dumps(scene, sort_keys=True).encode()).hexdigest()[:16]


def _rng(seed: int, index: int, *parts: object) -> random.Random:
    key = ":".join(["simian-camera-variants", str(seed), str(index), *map(str, parts)])
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big"))


def _candidate_moves(base: Combination, seed: int) -> list[str]:
    """Every other camera move in an order drawn from (seed, index). A camera that travels with a moving object
    keeps to the moves that keep it in place, as the combiner does."""
    follows = any(o.camera_follow for o in base.objects) and any(o.movement for o in base.objects)
    moves = [m for m in (sorted(CENTRING_MOVES) if follows else CAMERA_MOVES) if m != base.animation.name]
    _rng(seed, base.index, "order").shuffle(moves)
    return moves


def _fitted(base: Combination, move: str, seed: int, clip: Clip) -> tuple[Combination, ScenePlan] | None:
    """The scene under `move` at a speed drawn for this move, slowed until the shot keeps every rule; None if
    no speed does."""
    speed = _rng(seed, base.index, "speed", move).uniform(*SPEED_FACTOR_RANGE)
    for factor in SLOWDOWNS:
        animation = CameraAnimation(name=move, speed_factor=max(0.1, round(speed * factor, 2)))  # type: ignore[arg-type]
        candidate = base.model_copy(update={"animation": animation})
        plan = plan_scene(candidate, clip)
        if not plan.problems:
            return candidate, plan
        if not any(p.kind in ("out_of_frame", "move_limited") for p in plan.problems):
            return None
    return None


def camera_variant(
    base: Combination, variant: int, seed: int, clip: Clip = PLANNED_CLIP
) -> tuple[Combination, ScenePlan]:
    """Variant `variant` of a scene (`base` without captions): its recipe and plan, the shot size it gives recorded.

    Raises InvalidInputError when fewer other moves keep this scene's shot than the variant number asks for."""
    if not 0 <= variant < MAX_CAMERA_VARIANTS:
        raise InvalidInputError(f"variant: {variant} is not a camera variant; use 0 to {MAX_CAMERA_VARIANTS - 1}")
    if variant == 0:
        return base, plan_scene(base, clip)
    found = 0
    for move in _candidate_moves(base, seed):
        fitted = _fitted(base, move, seed, clip)
        if fitted is None:
            continue
        found += 1
        if found == variant:
            c, plan = fitted
            shot = shot_size_for(first_frame_span(plan))
            c = c.model_copy(update={"variant": variant, "framing": c.framing.model_copy(update={"name": shot.name})})
            return c, plan
    raise InvalidInputError(
        f"combination {base.index}: only {found} other camera moves keep every object of this scene in view, so it "
        f"has no camera variant {variant}; use camera_variants {found + 1} or fewer"
    )
