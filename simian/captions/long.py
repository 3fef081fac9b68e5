"""Captions written from the recipe and the scene plan, claim by claim, so they say what the video shows.

Every statement a caption makes is a `Claim` (the words plus what they assert); `simian check`
verifies each one against Blender's own projection of the planned scene. Sizes are the rendered
sizes along the named axis, left/right and in front/behind are as seen at the first frame, the
shot size comes from how much of the frame the main subject spans, camera moves carry their rate in
per-second units and a speed word from how fast the picture moves, and only the effect a frame shows by
itself (motion blur that smears) is named; an unseen sky is described by the light it gives.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from simian.assets.catalog import BUILTIN_OBJECTS
from simian.recipe.combination import Combination, SectionCaptions
from simian.recipe.vocabulary import (
    AXIS_WORDS,
    EFFECT_PHRASES,
    FLOOR_SLIDE_PHRASES,
    FOLLOWED_MOVEMENT_PHRASES,
    LIGHT_PHRASES,
    MOVEMENT_PHRASES,
    SCALE_SYNONYMS,
    SIZE_WORDS,
    focal_length_mm,
    object_view_phrase,
    relative_size_words,
    scale_name_for,
    shot_size_for,
    speed_word,
    view_height,
    view_side,
)
from simian.scene import composition, effects
from simian.scene.composition import MIN_BLUR_PIXELS, plan_scene
from simian.scene.plan import ScenePlan, cell_spacing, follow_index
from simian.scene.projection import project
from simian.scene.recognition import FRONT_BY_SMALL_PART, FRONT_READS, MAX_SIDE_PITCH
from simian.scene.shapes import PART_MIN_SHORT_SIDE, shape_for, visible_description

INTROS = ("The scene features {list}.", "In the scene there are {list}.", "The scene shows {list}.")
SINGLE_INTROS = ("The scene features {list}.", "The scene shows {list}.", "There is {list} in the scene.")
#: Two objects count as left/right of each other when their centres lie this far apart (frame widths).
SIDE_THRESHOLD = 0.05
#: Camera moves that keep a followed object where it is in the frame.
CENTRING_MOVES = frozenset(
    {
        "static",
        "orbit_left",
        "orbit_right",
        "orbit_up",
        "orbit_down",
        "dolly_in",
        "dolly_out",
        "zoom_in",
        "zoom_out",
        "tilt_left",
        "tilt_right",
    }
)
STUDIO = "builtin:studio"

ClaimKind = Literal[
    "object",  # the object is in frame, large enough and visible on every frame
    "size",  # its dimension along the named axis, in metres
    "side",  # left/right of another object at the first frame
    "depth",  # in front of / behind another object at the first frame
    "on_top",  # stands on another object, on every frame
    "object_motion",  # moves in a direction at a speed, relative to the camera's first view
    "screen_motion",  # drifts in a direction as seen from a moving camera
    "follow_centred",  # a followed object keeps its place in the frame
    "floor_slide",  # the floor moves across the frame in a direction while the camera follows
    "camera_travels",  # the camera travels along with a followed object
    "framing",  # the shot size word
    "fov",  # the horizontal field of view in degrees
    "view_side",  # the side of the scene the camera looks from at the first frame
    "elevation",  # the camera's elevation in degrees at the first frame
    "camera_move",  # the camera move and its rate
    "camera_speed",  # the speed word of a camera move, by how fast the picture moves (frame widths per second)
    "camera_still",  # the camera neither moves nor turns
    "camera_steady",  # the camera keeps its angle and zoom (while following)
    "background",  # the named background fills part of the first frame
    "lit_by",  # the named background lights the scene
    "floor",  # the floor is in view at the first frame
    "effect",  # a post-processing effect at a level
    "position",  # the object's box centre along world x or y at the first frame, in metres
    "frame_position",  # the object's image box centre along x or y at the first frame, in frame fractions
]


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a caption: the words and what they assert."""

    kind: ClaimKind
    text: str
    objects: tuple[int, ...] = ()
    word: str = ""
    value: float | None = None
    level: str = ""
    #: The caption field that states it: caption, caption_short, caption_camera or captions_structured.
    field: str = "caption"


@dataclass(frozen=True)
class Description:
    sections: SectionCaptions
    caption: str
    claims: tuple[Claim, ...] = field(default=())


def article(phrase: str) -> str:
    """'a' or 'an' by the sound of the first word, numerals as they are read: an 8, an 11, an 18, an 80 mm."""
    word = phrase.split(" ", 1)[0] if phrase else ""
    digits = word.split(".", 1)[0].replace(",", "")
    if digits.isdigit():
        spoken_eleven_or_eighteen = digits[:2] in ("11", "18") and len(digits) % 3 == 2
        return "an" if digits[0] == "8" or spoken_eleven_or_eighteen else "a"
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def join_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _the(name: str) -> str:
    return f"the {name}"


def _strip_article(text: str) -> str:
    for word in ("a ", "an ", "the "):
        if text.lower().startswith(word):
            return text[len(word) :]
    return text


def without_size_words(description: str) -> str:
    """The description with words that state a size removed (size comes from the scale word)."""
    words = [w for w in description.split() if re.sub(r"[^a-z-]", "", w.lower()) not in SIZE_WORDS]
    text = " ".join(words)
    return text or description


def size_phrase(factor: float, axis: str) -> str:
    unit = "meter" if factor == 1 else "meters"
    return f"about {factor:g} {unit} ({factor * 3.28084:.1f} feet) {AXIS_WORDS[axis]}"


def size_words(asset: str, factor: float, scale_name: str) -> tuple[str, ...]:
    """The words for an object's size: against the real thing's size where the catalogue knows it (a 1 m house is
    a miniature house), else the recipe's scale name."""
    entry = BUILTIN_OBJECTS.get(asset)
    if entry is not None and entry.real_size_m is not None:
        return relative_size_words(factor, entry.real_size_m)
    return SCALE_SYNONYMS.get(scale_name, SCALE_SYNONYMS[scale_name_for(factor)])


def object_phrase(
    description: str, factor: float, scale_name: str, rng: random.Random, axis: str = "largest", asset: str = ""
) -> str:
    """'a large wooden chair with a slatted back, about 2.25 meters (7.4 feet) tall'."""
    word = rng.choice(size_words(asset, factor, scale_name))
    body = f"{word} {_strip_article(without_size_words(description))}"
    return f"{article(body)} {body}, {size_phrase(factor, axis)}"


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
    """Side ('left'/'right') and depth ('in front of'/'behind') of object i relative to j at the first
    frame, from their projected box centres and their distances along the camera's view."""
    pose = plan.camera_at(0.0)
    xi, _, di = project(pose, plan.object_center(i, 0.0), plan.clip.aspect)
    xj, _, dj = project(pose, plan.object_center(j, 0.0), plan.clip.aspect)
    side = None if abs(xi - xj) < SIDE_THRESHOLD else ("left" if xi < xj else "right")
    threshold = 0.3 * cell_spacing(plan.combination)
    depth = None if abs(di - dj) < threshold else ("in front of" if di < dj else "behind")
    return side, depth


def _object_claims(c: Combination, plan: ScenePlan, rng: random.Random) -> tuple[str, list[Claim]]:
    names = distinct_names(c)
    camera = plan.camera_at(0.0).location
    claims: list[Claim] = []
    listed = []
    for i, o in enumerate(c.objects):
        center = plan.object_center(i, 0.0)
        seen = composition.visible_short_side(plan, i)
        description = visible_description(o.asset, o.description, camera[0] - center[0], camera[1] - center[1], seen)
        axis = shape_for(o.asset).dominant_axis
        phrase = object_phrase(description, o.scale.factor, o.scale.name, rng, axis, str(o.asset))
        listed.append(phrase)
        claims.append(Claim("object", phrase, (i,), names[i]))
        claims.append(Claim("size", size_phrase(o.scale.factor, axis), (i,), axis, o.scale.factor))
    intro = rng.choice(SINGLE_INTROS if len(listed) == 1 else INTROS).format(list="; ".join(listed))
    sentences = [intro]
    below = [t.stacked_on for t in plan.objects]
    for i in range(len(c.objects)):
        for j in range(i + 1, len(c.objects)):
            if below[i] == j or below[j] == i:
                top, base = (i, j) if below[i] == j else (j, i)
                text = f"{_the(names[top]).capitalize()} sits on top of {_the(names[base])}."
                sentences.append(text)
                claims.append(Claim("on_top", text, (top, base)))
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
                text = f"{_the(names[i]).capitalize()} is {' and '.join(parts)} {_the(names[j])}."
                sentences.append(text)
                if side:
                    claims.append(Claim("side", text, (i, j), side))
                if depth:
                    claims.append(Claim("depth", text, (i, j), depth))
    motion_text, motion_claims = _motion_claims(c, plan, names)
    sentences += motion_text
    claims += motion_claims
    return " ".join(sentences), claims


def _riders(plan: ScenePlan, carrier: int) -> list[int]:
    return [t.index for t in plan.objects if t.carrier == carrier and t.index != carrier]


def _screen_direction(plan: ScenePlan, i: int) -> str | None:
    """How object i drifts across the planned clip as seen from the camera (None: it keeps its place)."""
    first, last = plan.frame_boxes[0][i], plan.frame_boxes[-1][i]
    if first is None or last is None:
        return None
    dx = last.center[0] - first.center[0]
    dy = last.center[1] - first.center[1]
    grow = math.log(max(last.height, 1e-6) / max(first.height, 1e-6))
    options = {
        "to the left": -dx,
        "to the right": dx,
        "upward": -dy,
        "downward": dy,
        "closer": grow,
        "farther away": -grow,
    }
    word, amount = max(options.items(), key=lambda kv: kv[1])
    return word if amount >= 0.05 else None


def floor_image_motion(start: tuple[float, float, float], end: tuple[float, float, float]) -> dict[str, float]:
    """How far a floor point moved in the image, per FLOOR_SLIDE_PHRASES word ((x, y, depth) before
    and after; across and down in frame fractions, away and closer as the log of the depth ratio)."""
    (x0, y0, d0), (x1, y1, d1) = start, end
    depth = math.log(max(d1, 1e-6) / max(d0, 1e-6))
    return {"right": x1 - x0, "left": x0 - x1, "down": y1 - y0, "away": depth, "closer": -depth}


#: Least slide of the floor under a followed object over the clip (frame fractions, or log depth ratio) that a
#: viewer sees: 2 % looked still on the labelled frames (bench/CAPTION_TRUTH.md, claim labels).
MIN_VISIBLE_SLIDE = 0.05


def floor_slide_motion(plan: ScenePlan, followed: int) -> tuple[str, float]:
    """Which way, and how far, the floor under a followed object slides in the image over the clip."""
    cx, cy, _ = plan.object_center(followed, 0.0)
    end = plan.clip.duration_s - 1 / plan.clip.fps
    start_view = project(plan.camera_at(0.0), (cx, cy, 0.0), plan.clip.aspect)
    end_view = project(plan.camera_at(end), (cx, cy, 0.0), plan.clip.aspect)
    return max(floor_image_motion(start_view, end_view).items(), key=lambda kv: kv[1])


def floor_slide(plan: ScenePlan, followed: int) -> str | None:
    """Which way the floor under a followed object slides in the image over the clip, if it visibly does."""
    word, amount = floor_slide_motion(plan, followed)
    return word if amount >= MIN_VISIBLE_SLIDE else None


def _motion_claims(c: Combination, plan: ScenePlan, names: list[str]) -> tuple[list[str], list[Claim]]:
    followed = follow_index(c)
    follow_carrier = plan.objects[followed].carrier if followed is not None and plan.moves(followed) else None
    sentences: list[str] = []
    claims: list[Claim] = []
    told: set[int] = set()
    for i, o in enumerate(c.objects):
        carrier = plan.objects[i].carrier
        if o.movement is None or carrier in told:
            continue  # a stack moves as one: its first mover tells it, carrying the rest
        told.add(carrier)
        riders = [r for r in [carrier, *_riders(plan, carrier)] if r != i]
        speed = f"at {o.movement.speed:.2f} meters per second"
        others = join_list([_the(names[r]) for r in riders]) if riders else ""
        if not riders:
            carrying = ""
        elif i == carrier:
            carrying = f", carrying {others} with it"
        else:  # the mover stands on others: the whole stack goes with it
            carrying = f", together with {others}"
        if follow_carrier is not None and carrier != follow_carrier:
            drift = _screen_direction(plan, i)
            if drift is None:
                continue
            text = f"Seen from the moving camera, {_the(names[i])} drifts {drift}{carrying}."
            sentences.append(text)
            claims += [Claim("screen_motion", text, (k,), drift) for k in (i, *riders)]
            continue
        if follow_carrier is not None:
            subject = names[followed]  # type: ignore[index]
            text = f"{_the(names[i]).capitalize()} {FOLLOWED_MOVEMENT_PHRASES[o.movement.direction]} {speed}{carrying}"
            if c.animation.name in CENTRING_MOVES:
                slide = floor_slide(plan, followed)  # type: ignore[arg-type]
                while_text = f" while {FLOOR_SLIDE_PHRASES[slide]}" if slide else ""
                text += f"; the camera travels with it, keeping {_the(subject)} in place in the frame{while_text}."
                claims.append(Claim("follow_centred", text, (followed,)))  # type: ignore[arg-type]
                if slide:
                    claims.append(Claim("floor_slide", text, (followed,), slide))  # type: ignore[arg-type]
            else:
                text += "; the camera travels with it."
                claims.append(Claim("camera_travels", text, (followed,)))  # type: ignore[arg-type]
        else:
            text = f"{_the(names[i]).capitalize()} {MOVEMENT_PHRASES[o.movement.direction]} {speed}{carrying}."
        sentences.append(text)
        claims += [Claim("object_motion", text, (k,), o.movement.direction, o.movement.speed) for k in (i, *riders)]
    return sentences, claims


def _front_shows(c: Combination, plan: ScenePlan, i: int) -> bool:
    """Whether a viewer can tell which side of object i faces the camera: its type has a front (a chair's seat, a
    car's windscreen, a robot's face), the camera is not so high that front and side merge, and where the front is
    told by a small part (a house's door, a snowman's nose) the object is large enough for that part to show."""
    asset = c.objects[i].asset
    if asset not in FRONT_READS or c.orientation.pitch > MAX_SIDE_PITCH:
        return False
    return asset not in FRONT_BY_SMALL_PART or (composition.visible_short_side(plan, i) or 0.0) >= PART_MIN_SHORT_SIDE


def _orientation(c: Combination, plan: ScenePlan) -> tuple[str, list[Claim]]:
    """The camera's height, and the side it sees of the first object whose front shows (`_front_shows`); a scene of
    round or small objects has no side a viewer could tell, so none is claimed."""
    yaw, pitch = c.orientation.yaw, c.orientation.pitch
    height = f"{view_height(pitch)} ({pitch:.0f} degrees of elevation)"
    fronted = next((i for i, o in enumerate(c.objects) if _front_shows(c, plan, i)), None)
    if fronted is None:
        text = f"The camera looks on {height}."
        return text, [Claim("elevation", text, (), "", pitch)]
    text = f"The camera sees {_the(distinct_names(c)[fronted])} {object_view_phrase(yaw)}, {height}."
    return text, [Claim("view_side", text, (), view_side(yaw), yaw), Claim("elevation", text, (), "", pitch)]


def first_frame_span(plan: ScenePlan) -> float:
    """The main subject's span at the first frame, which names the shot size."""
    c = plan.combination
    return composition.main_subject_span(plan.frame_boxes[0], [str(o.asset) for o in c.objects], follow_index(c))


def _framing(c: Combination, plan: ScenePlan) -> tuple[str, list[Claim]]:
    shot = shot_size_for(first_frame_span(plan))
    focal = focal_length_mm(c.framing.fov)
    fov, lens = f"{c.framing.fov:.0f}", f"{focal:.0f}"
    text = (
        f"It is {article(shot.label)} {shot.label}, filmed with {article(fov)} {fov} degree field of view "
        f"({article(lens)} {lens} mm lens)."
    )
    return text, [Claim("framing", text, (), shot.label), Claim("fov", text, (), "", c.framing.fov)]


def _animation(c: Combination, plan: ScenePlan) -> tuple[str, list[Claim]]:
    move = plan.move
    followed = follow_index(c)
    following = followed is not None and plan.moves(followed)
    if move.quantity == "none":
        if following:
            name = distinct_names(c)[followed]  # type: ignore[index]
            text = f"Apart from travelling with {_the(name)}, the camera keeps its angle and zoom."
            return text, [Claim("camera_steady", text)]
        text = "The camera holds still."
        return text, [Claim("camera_still", text)]
    rate = abs(plan.move_rate)
    on_screen = composition.screen_speed(plan.frame_boxes, plan.clip)
    speed = speed_word(on_screen)
    text = f"{move.phrase} {speed}, at {rate:.2f} {move.unit}."
    return text, [Claim("camera_move", text, (), move.name, rate), Claim("camera_speed", text, (), speed, on_screen)]


def _background(c: Combination, plan: ScenePlan) -> tuple[str, list[Claim]]:
    studio = c.background.asset == STUDIO
    share = composition.frame_fractions(plan, 0.0, studio=studio)["background"]
    name = c.background.name
    if share >= composition.MIN_BACKGROUND_FRACTION:
        text = (
            "The background is a seamless photo studio backdrop."
            if studio
            else (f"The background is {article(name)} {name}.")
        )
        return text, [Claim("background", text, (), name, share)]
    text = f"The scene is lit by {light_phrase(c)}."
    return text, [Claim("lit_by", text, (), name)]


def light_phrase(c: Combination) -> str:
    """What lights the scene, as a viewer sees it when the background is out of frame: the light of a built-in sky,
    else the environment by its name."""
    return LIGHT_PHRASES.get(c.background.asset) or f"{article(c.background.name)} {c.background.name}"


def visible_effects(c: Combination, plan: ScenePlan) -> list[tuple[str, str]]:
    """(effect, level) pairs a viewer sees in the frames alone: motion blur, a smear along the motion where things
    move enough. Bloom and ambient occlusion change many pixels against the same render without them (see
    `simian.scene.effects`), but a viewer has no such render: in the frame a glow or a crease shadow reads as the
    lighting, so they stay in the recipe (the `combination` column), not in the captions."""
    return [("motion_blur", c.postprocessing.motion_blur.level)] if motion_blur_shows(c, plan) else []


def motion_blur_shows(c: Combination, plan: ScenePlan) -> bool:
    """Whether the recipe's motion blur shows: objects smear by a few pixels, over a background where
    that level was measured visible."""
    level = c.postprocessing.motion_blur.level
    if level == "none" or not effects.is_visible("motion_blur", level, c.background.asset):
        return False
    return composition.motion_blur_pixels(plan, effects.shutter_for(level)) >= MIN_BLUR_PIXELS


def _postprocessing(c: Combination, plan: ScenePlan) -> tuple[str, list[Claim]]:
    shown = visible_effects(c, plan)
    if not shown:
        return "", []  # nothing to see; "no effects" would be false where bloom or occlusion is applied
    phrases = [EFFECT_PHRASES[name][level] for name, level in shown]
    text = f"The image has {join_list(phrases)}."
    return text, [Claim("effect", text, (), name, None, level) for name, level in shown]


def describe(combination: Combination, rng: random.Random | None = None, plan: ScenePlan | None = None) -> Description:
    """Section captions, the full caption and its claims for a recipe; `rng` only varies the wording."""
    c = combination
    rng = rng or random.Random(c.index)
    plan = plan or plan_scene(c)
    objects, claims = _object_claims(c, plan, rng)
    background, background_claims = _background(c, plan)
    floor = composition.floor_name(plan)
    stage = f"The floor is {floor}."
    orientation, orientation_claims = _orientation(c, plan)
    framing, framing_claims = _framing(c, plan)
    animation, animation_claims = _animation(c, plan)
    post, post_claims = _postprocessing(c, plan)
    claims += background_claims + [Claim("floor", stage, (), floor)]
    claims += orientation_claims + framing_claims + animation_claims + post_claims
    sections = SectionCaptions(
        objects=objects,
        background=background,
        orientation=orientation,
        framing=framing,
        animation=animation,
        stage=stage,
        postprocessing=post,
    )
    caption = " ".join(part for part in (objects, background, stage, orientation, framing, animation, post) if part)
    return Description(sections, caption, tuple(claims))


def write_captions(combination: Combination, rng: random.Random | None = None) -> tuple[SectionCaptions, str]:
    description = describe(combination, rng)
    return description.sections, description.caption


def with_captions(combination: Combination, rng: random.Random | None = None) -> Combination:
    sections, caption = write_captions(combination, rng)
    return combination.model_copy(update={"captions": sections, "caption": caption})
