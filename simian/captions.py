"""Captions written from the recipe and the scene plan, so they say what the video shows.

Sizes are the rendered sizes, left/right and in front/behind are as seen from the camera,
movement is relative to the camera, and camera moves carry their rate in per-second units.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from simian.combination import Combination, SectionCaptions
from simian.scene_plan import ScenePlan, cell_spacing, plan_scene
from simian.vocabulary import (
    EFFECT_PHRASES,
    MOVEMENT_PHRASES,
    SCALE_SYNONYMS,
    SENSOR_WIDTH_MM,
    framing_for_fov,
    scale_name_for,
    speed_word,
    view_height,
    view_side,
)

INTROS = ("The scene features {list}.", "In the scene there are {list}.", "The scene shows {list}.")
SINGLE_INTROS = ("The scene features {list}.", "The scene shows {list}.", "There is {list} in the scene.")


def _join(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _the(name: str) -> str:
    return f"the {name}"


def _article(phrase: str) -> str:
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def _strip_article(text: str) -> str:
    for article in ("a ", "an ", "the "):
        if text.lower().startswith(article):
            return text[len(article) :]
    return text


def object_phrase(description: str, factor: float, scale_name: str, rng: random.Random) -> str:
    """'a large wooden chair with a slatted back, about 2.25 meters (7.4 feet) across'."""
    word = rng.choice(SCALE_SYNONYMS.get(scale_name, SCALE_SYNONYMS[scale_name_for(factor)]))
    body = f"{word} {_strip_article(description)}"
    unit = "meter" if factor == 1 else "meters"
    return f"{_article(body)} {body}, about {factor:g} {unit} ({factor * 3.28084:.1f} feet) across"


def distinct_names(combination: Combination) -> list[str]:
    """Names that tell repeated objects apart ("the first chair", "the second chair")."""
    names = [o.name for o in combination.objects]
    ordinals = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if names.count(name) > 1:
            k = seen.get(name, 0)
            seen[name] = k + 1
            out.append(f"{ordinals[k]} {name}")
        else:
            out.append(name)
    return out


def relation(plan: ScenePlan, i: int, j: int) -> tuple[str | None, str | None]:
    """Side ('left'/'right') and depth ('in front of'/'behind') of object i relative to j, from the camera."""
    threshold = 0.3 * cell_spacing(plan.combination)
    xi, zi = plan.in_camera_frame(plan.objects[i].rest)
    xj, zj = plan.in_camera_frame(plan.objects[j].rest)
    side = None if abs(xi - xj) < threshold else ("left" if xi < xj else "right")
    depth = None if abs(zi - zj) < threshold else ("in front of" if zi < zj else "behind")
    return side, depth


def _objects_caption(c: Combination, plan: ScenePlan, rng: random.Random) -> str:
    names = distinct_names(c)
    listed = [object_phrase(o.description, o.scale.factor, o.scale.name, rng) for o in c.objects]
    intro = rng.choice(SINGLE_INTROS if len(listed) == 1 else INTROS).format(list="; ".join(listed))
    sentences = [intro]
    below = [t.stacked_on for t in plan.objects]
    pairs = [(i, j) for i in range(len(c.objects)) for j in range(i + 1, len(c.objects))]
    for i, j in pairs:
        if below[i] == j or below[j] == i:
            top, base = (i, j) if below[i] == j else (j, i)
            sentences.append(f"{_the(names[top]).capitalize()} sits on top of {_the(names[base])}.")
            continue
        if c.objects[i].placement == c.objects[j].placement:
            continue
        side, depth = relation(plan, i, j)
        parts = []
        if side:
            parts.append(f"to the {side} of")
        if depth:
            parts.append(depth)
        if parts:
            sentences.append(f"{_the(names[i]).capitalize()} is {' and '.join(parts)} {_the(names[j])}.")
    for i, o in enumerate(c.objects):
        if o.movement is not None:
            phrase = MOVEMENT_PHRASES[o.movement.direction]
            sentences.append(f"{_the(names[i]).capitalize()} {phrase} at {o.movement.speed:.2f} meters per second.")
    for i, o in enumerate(c.objects):
        if o.camera_follow:
            sentences.append(f"The camera follows {_the(names[i])} as it moves.")
    return " ".join(sentences)


def _orientation_caption(c: Combination) -> str:
    side = view_side(c.orientation.yaw)
    return (
        f"The camera views the scene from the {side} side, {view_height(c.orientation.pitch)} "
        f"({c.orientation.pitch:.0f} degrees of elevation)."
    )


def _framing_caption(c: Combination) -> str:
    framing = framing_for_fov(c.framing.fov)
    focal = SENSOR_WIDTH_MM / (2 * math.tan(math.radians(c.framing.fov) / 2))
    return f"It is a {framing.label} with a {c.framing.fov:.0f} degree field of view (a {focal:.0f} mm lens)."


def _animation_caption(c: Combination, plan: ScenePlan) -> str:
    move = plan.move
    if move.quantity == "none":
        return "The camera holds still."
    rate = abs(plan.move_rate)
    return f"{move.phrase} {speed_word(c.animation.speed_factor)}, at {rate:.2f} {move.unit}."


def _postprocessing_caption(c: Combination) -> str:
    pp = c.postprocessing
    effects = [
        EFFECT_PHRASES[name][level]
        for name, level in (
            ("bloom", pp.bloom.level),
            ("ambient_occlusion", pp.ambient_occlusion.level),
            ("motion_blur", pp.motion_blur.level),
        )
        if level != "none"
    ]
    if not effects:
        return "No post-processing effects are applied."
    return f"The image has {_join(effects)}."


def write_captions(combination: Combination, rng: random.Random | None = None) -> tuple[SectionCaptions, str]:
    """Section captions and the full caption for a recipe; `rng` only varies the wording."""
    rng = rng or random.Random(combination.index)
    plan = plan_scene(combination)
    bg_name = combination.background.name
    sections = SectionCaptions(
        objects=_objects_caption(combination, plan, rng),
        background=f"The background is {_article(bg_name)} {bg_name}.",
        orientation=_orientation_caption(combination),
        framing=_framing_caption(combination),
        animation=_animation_caption(combination, plan),
        stage=f"The floor is {combination.stage.name}.",
        postprocessing=_postprocessing_caption(combination),
    )
    caption = " ".join(
        [
            sections.objects,
            sections.background,
            sections.stage,
            sections.orientation,
            sections.framing,
            sections.animation,
            sections.postprocessing,
        ]
    )
    return sections, caption


def with_captions(combination: Combination, rng: random.Random | None = None) -> Combination:
    sections, caption = write_captions(combination, rng)
    return combination.model_copy(update={"captions": sections, "caption": caption})
