"""Caption styles for the models that train on the videos: one short sentence, the camera move alone, and the
whole caption as structured data.

Each style rewords the long caption's claims (`simian.captions.long`), so it is true by the same rules and
`simian check` verifies it the same way. Camera moves are named in CameraBench's vocabulary, which keeps
the lens apart from the camera (zoom vs dolly) and names arcs, cranes, pedestals, pans, tilts, rolls and
tracking shots. Wording varies with seeded RNGs: the scene's words with (seed, index) and the camera's with
(seed, index, variant), so the camera variants of a scene word the scene alike.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, replace

from simian.captions.long import (
    CENTRING_MOVES,
    STUDIO,
    Claim,
    Description,
    article,
    describe,
    distinct_names,
    join_list,
    light_phrase,
    size_words,
)
from simian.recipe.combination import Combination, ObjectMovement
from simian.recipe.structured_caption import (
    Effect,
    Movement,
    Position,
    Shot,
    StructuredBackground,
    StructuredCamera,
    StructuredCaption,
    StructuredFloor,
    StructuredObject,
    Tracking,
)
from simian.recipe.vocabulary import focal_length_mm, view_side
from simian.scene.composition import plan_scene, visible_short_side
from simian.scene.plan import PLANNED_CLIP, Clip, ScenePlan, follow_index
from simian.scene.shapes import shape_for, visible_description

#: The short caption stays within this many words.
MAX_SHORT_WORDS = 25
#: Longest object name the short caption repeats, in words (names from files can be long).
MAX_NAME_WORDS = 4
SHORT = "caption_short"
CAMERA = "caption_camera"
STRUCTURED = "captions_structured"


@dataclass(frozen=True)
class CameraTerm:
    """A camera move in CameraBench's words: the primitive, its direction, what the camera does, and a verb phrase.

    `held` says how the camera keeps its place ("on the spot"); it is left out when the camera travels with an
    object, where it would be untrue."""

    term: str
    type: str
    direction: str
    motion: str
    verb: str
    held: str = ""

    @property
    def action(self) -> str:
        """What the camera does, as said of a camera that otherwise stays where it is."""
        return f"{self.motion}{self.held}"


CAMERA_TERMS: dict[str, CameraTerm] = {
    "static": CameraTerm("static", "static", "none", "the camera neither moves nor turns", "holds still"),
    "pan_left": CameraTerm("pan left", "pan", "left", "the camera turns to the left", "pans left", " on the spot"),
    "pan_right": CameraTerm("pan right", "pan", "right", "the camera turns to the right", "pans right", " on the spot"),
    "tilt_up": CameraTerm("tilt up", "tilt", "up", "the camera turns upward", "tilts up", " on the spot"),
    "tilt_down": CameraTerm("tilt down", "tilt", "down", "the camera turns downward", "tilts down", " on the spot"),
    "tilt_left": CameraTerm(
        "roll counterclockwise",
        "roll",
        "counterclockwise",
        "the camera turns to the left about its lens axis",
        "rolls counterclockwise",
    ),
    "tilt_right": CameraTerm(
        "roll clockwise", "roll", "clockwise", "the camera turns to the right about its lens axis", "rolls clockwise"
    ),
    "zoom_in": CameraTerm(
        "zoom in",
        "zoom",
        "in",
        "the lens narrows its field of view",
        "zooms in",
        " while the camera stays in place",
    ),
    "zoom_out": CameraTerm(
        "zoom out",
        "zoom",
        "out",
        "the lens widens its field of view",
        "zooms out",
        " while the camera stays in place",
    ),
    "dolly_in": CameraTerm(
        "dolly in", "dolly", "in", "the camera moves forward toward the scene with the lens unchanged", "dollies in"
    ),
    "dolly_out": CameraTerm(
        "dolly out",
        "dolly",
        "out",
        "the camera moves backward away from the scene with the lens unchanged",
        "dollies out",
    ),
    "crane_up": CameraTerm(
        "pedestal up", "pedestal", "up", "the camera rises straight up without turning", "pedestals up"
    ),
    "crane_down": CameraTerm(
        "pedestal down", "pedestal", "down", "the camera lowers straight down without turning", "pedestals down"
    ),
    "orbit_left": CameraTerm(
        "arc left",
        "arc",
        "left",
        "the camera circles to the left around the scene, clockwise seen from above, keeping it in view",
        "arcs left around the scene",
    ),
    "orbit_right": CameraTerm(
        "arc right",
        "arc",
        "right",
        "the camera circles to the right around the scene, counterclockwise seen from above, keeping it in view",
        "arcs right around the scene",
    ),
    "orbit_up": CameraTerm(
        "crane up",
        "crane",
        "up",
        "the camera rises in an arc over the scene, keeping it in view",
        "cranes up over the scene",
    ),
    "orbit_down": CameraTerm(
        "crane down",
        "crane",
        "down",
        "the camera sinks in an arc around the scene, keeping it in view",
        "cranes down around the scene",
    ),
}

#: Tracking shots by the followed object's direction: (CameraBench name, what the camera does).
TRACKING_SHOTS: dict[str, tuple[str, str]] = {
    "left": ("side tracking", "the camera trucks left alongside {name}"),
    "right": ("side tracking", "the camera trucks right alongside {name}"),
    "toward": ("lead tracking", "the camera moves backward ahead of {name} as it approaches"),
    "away": ("tail tracking", "the camera follows behind {name} as it moves away"),
    "up": ("tracking up", "the camera rises with {name}"),
}
SPEED_ADJECTIVES = {"slowly": "slow", "steadily": "steady", "quickly": "quick", "very quickly": "very quick"}
CELL_NAMES = ("front-left", "front", "front-right", "left", "centre", "right", "back-left", "back", "back-right")


@dataclass(frozen=True)
class Styles:
    short: str
    camera: str
    structured: StructuredCaption
    #: Claims of the short and the camera caption (each names its field); the structured caption's own come from
    #: `structured_claims`, read back from its data.
    claims: tuple[Claim, ...]


@dataclass(frozen=True)
class _Tracking:
    index: int
    name: str
    direction: str
    speed: float
    kind: str
    action: str
    claim: Claim  # the long caption's claim that the camera travels with it (or keeps it centred)


def _rng(c: Combination, *parts: object) -> random.Random:
    key = ":".join(["simian-styles", str(c.seed or 0), str(c.index), *map(str, parts)])
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big"))


def _the(name: str) -> str:
    return f"the {name}"


def _speed(claims: tuple[Claim, ...]) -> str:
    """The long caption's speed word for the camera move (from the picture's motion); "" for a still camera."""
    claim = _first(claims, "camera_speed")
    return claim.word if claim is not None else ""


def _first(claims: tuple[Claim, ...], *kinds: str) -> Claim | None:
    return next((cl for cl in claims if cl.kind in kinds), None)


def stack_movement(c: Combination, plan: ScenePlan, i: int) -> ObjectMovement | None:
    """How object i moves: with its stack, whose movement one of its objects carries."""
    if not plan.moves(i):
        return None
    carrier = plan.objects[i].carrier
    return next(o.movement for k, o in enumerate(c.objects) if plan.objects[k].carrier == carrier and o.movement)


def _tracking(c: Combination, plan: ScenePlan, claims: tuple[Claim, ...], names: list[str]) -> _Tracking | None:
    followed = follow_index(c)
    if followed is None or not plan.moves(followed):
        return None
    movement = stack_movement(c, plan, followed)
    claim = _first(claims, "camera_travels", "follow_centred")
    assert movement is not None and claim is not None
    kind, action = TRACKING_SHOTS[movement.direction]
    name = names[followed]
    return _Tracking(followed, name, movement.direction, movement.speed, kind, action.format(name=_the(name)), claim)


def _claim(template: Claim | None, field: str, text: str, **changes: object) -> Claim:
    """A claim of the long caption restated by a style: same assertion, the style's words."""
    assert template is not None
    return replace(template, text=text, field=field, **changes)  # type: ignore[arg-type]


# -- the short caption -------------------------------------------------------------------------------------------


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def spelled(number: int) -> str:
    """Small counts in words, as prose writes them ('three more objects'); larger ones in digits."""
    return _NUMBER_WORDS[number] if 0 <= number < len(_NUMBER_WORDS) else str(number)


def _object_phrases(c: Combination, order: list[int], rng: random.Random) -> list[tuple[str, str]]:
    """(with a scale word, without) for each object: 'a large chair', 'a chair'; repeats, in the order the caption
    names them, say 'another'."""
    phrases: list[tuple[str, str]] = [("", "")] * len(c.objects)
    seen: set[str] = set()
    for index in order:
        o = c.objects[index]
        name = " ".join(o.name.split()[:MAX_NAME_WORDS])
        word = rng.choice(size_words(str(o.asset), o.scale.factor, o.scale.name))
        full, bare = f"{word} {name}", name
        pair = []
        for body in (full, bare):
            pair.append(f"another {body}" if body in seen else f"{article(body)} {body}")
            seen.add(body)
        phrases[index] = (pair[0], pair[1])
    return phrases


def _short(
    c: Combination,
    plan: ScenePlan,
    claims: tuple[Claim, ...],
    tracking: _Tracking | None,
    scene_rng: random.Random,
    camera_rng: random.Random,
) -> tuple[str, list[Claim]]:
    # The tracked object is named first, then the others largest first: shorter forms drop the smallest.
    order = sorted(
        range(len(c.objects)),
        key=lambda i: (tracking is None or i != tracking.index, -c.objects[i].scale.factor),
    )
    phrases = _object_phrases(c, order, scene_rng)
    template = scene_rng.randrange(3)
    floor_form = scene_rng.choice(("{name}", "a floor of {name}"))
    bg_claim = _first(claims, "background", "lit_by")
    floor_claim = _first(claims, "floor")
    assert bg_claim is not None and floor_claim is not None
    floor_seen = floor_claim.word  # the floor as a viewer names it from this shot
    studio = c.background.asset == STUDIO
    bg_name = "seamless studio backdrop" if studio else c.background.name
    lit = bg_claim.kind == "lit_by"
    if not lit:
        prepositions = ["against", "in front of"] + (["under"] if "sky" in bg_name else [])
        bg_text = f"{article(bg_name)} {bg_name}"
        background = f" {scene_rng.choice(prepositions)} {bg_text}"
    else:
        bg_text = f"lit by {light_phrase(c)}"
        background = f", {bg_text}"

    camera_claims: list[Claim] = []
    move = CAMERA_TERMS[c.animation.name]
    adverb = _speed(claims)
    camera_claim = _first(claims, "camera_move", "camera_still", "camera_steady")
    lead = camera_rng.choice(("as", "while"))
    if tracking is not None:
        tracks = f"tracks {_the(tracking.name)}"
        camera = f"{lead} the camera {tracks}"
        camera_claims.append(_claim(tracking.claim, SHORT, tracks))
        if c.animation.name != "static":
            camera += f" and {adverb} {move.verb}"
            camera_claims.append(_claim(camera_claim, SHORT, move.verb))
    elif c.animation.name == "static":
        camera = camera_rng.choice(("from a still camera", "as the camera holds still"))
        camera_claims.append(_claim(camera_claim, SHORT, camera.split(" ", 1)[1]))
    else:
        camera = f"{lead} the camera {adverb} {move.verb}"
        camera_claims.append(_claim(camera_claim, SHORT, move.verb))

    def sentence(objects: list[str], total: int, with_background: bool, form: int, plain: bool) -> str:
        listed = list(objects)
        if total > len(listed):
            rest = total - len(listed)
            listed.append("another object" if rest == 1 else f"{spelled(rest)} more objects")
        things = join_list(listed)
        verb = "appear" if total > 1 else "appears"
        floor = floor_seen if plain else floor_form.format(name=floor_seen)
        setting = f"on {floor}{background if with_background else ''}"
        gap = "," if lit and with_background else ""  # "..., lit by a sunset sky, as the camera ..."
        if form == 0:
            return f"The scene shows {things} {setting}{gap} {camera}."
        if form == 1:
            return f"{things[0].upper()}{things[1:]} {verb} {setting}{gap} {camera}."
        return f"{camera[0].upper()}{camera[1:]}, {things} {verb} {setting}."

    # Shorter forms drop scale words, then the smallest objects, then the background.
    count = len(order)
    attempts: list[tuple[list[int], int, bool, int, bool]] = [(order, 0, True, template, False)]
    attempts += [(order, 1, True, template, False)]
    attempts += [(order[:k], 1, True, template, False) for k in (2, 1) if k < count]
    attempts += [(order[:1], 1, False, template, False), (order[:1], 1, False, 1, True)]
    for shown, bare, with_background, form, plain in attempts:
        text = sentence([phrases[i][bare] for i in shown], count, with_background, form, plain)
        if len(text.split()) <= MAX_SHORT_WORDS:
            break
    result = [Claim("object", phrases[i][bare], (i,), phrases[i][bare], field=SHORT) for i in shown]
    if len(shown) < count:  # "and three more objects": each of them is in view too
        more = "another object" if count - len(shown) == 1 else "more objects"
        result += [Claim("object", more, (i,), more, field=SHORT) for i in order[len(shown) :]]
    result.append(_claim(floor_claim, SHORT, floor_seen))
    if with_background:
        result.append(_claim(bg_claim, SHORT, bg_text))
    return text, result + camera_claims


# -- the camera caption ------------------------------------------------------------------------------------------


def _camera(
    c: Combination, plan: ScenePlan, claims: tuple[Claim, ...], tracking: _Tracking | None, rng: random.Random
) -> tuple[str, list[Claim]]:
    move = CAMERA_TERMS[c.animation.name]
    adverb = _speed(claims)
    camera_claim = _first(claims, "camera_move", "camera_still", "camera_steady")
    rate = abs(plan.move_rate)
    rate_text = f"{rate:.2f} {plan.move.unit}"
    if tracking is None and c.animation.name == "static":
        text = rng.choice(
            (
                "Static: the camera neither moves nor turns, and the lens keeps its zoom.",
                "Static shot: no pan, tilt, roll, zoom or camera movement.",
            )
        )
        return text, [_claim(camera_claim, CAMERA, "static")]
    if tracking is None:
        options = (
            f"{move.term.capitalize()}: {move.action}, {adverb}, at {rate_text}.",
            f"{move.term.capitalize()} ({move.action}), {adverb}, at {rate_text}.",
            f"The camera performs a {SPEED_ADJECTIVES[adverb]} {move.term}: {move.action}, at {rate_text}.",
        )
        text = rng.choice(options)
        return text, [_claim(camera_claim, CAMERA, move.term), _claim(camera_claim, CAMERA, rate_text)]
    motion = next((cl for cl in claims if cl.kind == "object_motion" and cl.objects == (tracking.index,)), None)
    speed_text = f"{tracking.speed:.2f} meters per second"
    result = [_claim(tracking.claim, CAMERA, tracking.kind), _claim(motion, CAMERA, speed_text)]
    head = f"{tracking.kind.capitalize()}: {tracking.action} at {speed_text}"
    if c.animation.name == "static":
        steady = rng.choice(("keeping its angle and zoom", "with no pan, tilt, roll or zoom"))
        result.append(_claim(camera_claim, CAMERA, steady))
        return f"{head}, {steady}.", result
    text = f"{head}, combined with {article(move.term)} {move.term}: {move.motion}, {adverb}, at {rate_text}."
    result += [_claim(camera_claim, CAMERA, move.term), _claim(camera_claim, CAMERA, rate_text)]
    return text, result


# -- the structured caption --------------------------------------------------------------------------------------


def _structured(
    c: Combination, plan: ScenePlan, claims: tuple[Claim, ...], names: list[str], tracking: _Tracking | None
) -> StructuredCaption:
    camera_at = plan.camera_at(0.0).location
    sizes = {cl.objects[0]: cl for cl in claims if cl.kind == "size"}
    objects = []
    for i, o in enumerate(c.objects):
        cx, cy, _ = plan.object_center(i, 0.0)
        box = plan.frame_boxes[0][i] if plan.frame_boxes else None
        known = shape_for(o.asset).known and box is not None
        movement = stack_movement(c, plan, i)
        below = plan.objects[i].stacked_on
        objects.append(
            StructuredObject(
                name=names[i],
                asset=o.asset,
                description=visible_description(
                    o.asset, o.description, camera_at[0] - cx, camera_at[1] - cy, visible_short_side(plan, i)
                ),
                size_m=o.scale.factor,
                size_axis=sizes[i].word,  # type: ignore[arg-type]
                scale=o.scale.name,
                position=Position(
                    cell=CELL_NAMES[o.placement],
                    x_m=round(cx, 3),
                    y_m=round(cy, 3),
                    frame_x=round(box.center[0], 3) if known and box else None,
                    frame_y=round(box.center[1], 3) if known and box else None,
                ),
                on_top_of=names[below] if below is not None else None,
                movement=Movement(direction=movement.direction, speed_mps=movement.speed) if movement else None,
            )
        )
    background = _first(claims, "background", "lit_by")
    framing, fov = _first(claims, "framing"), _first(claims, "fov")
    side, elevation = _first(claims, "view_side"), _first(claims, "elevation")
    assert background and framing and fov and elevation
    assert fov.value is not None and elevation.value is not None
    move = CAMERA_TERMS[c.animation.name]
    moving = c.animation.name != "static"
    focal = focal_length_mm(fov.value)
    return StructuredCaption(
        objects=objects,
        background=StructuredBackground(name=c.background.name, fills_frame=background.kind == "background"),
        floor=StructuredFloor(name=c.stage.name),
        shot=Shot(
            size=framing.word,
            fov_deg=round(fov.value, 3),
            lens_mm=round(focal, 1),
            view_side=side.word if side else view_side(c.orientation.yaw),  # data: said even where not seen
            elevation_deg=round(elevation.value, 3),
        ),
        camera=StructuredCamera(
            move=c.animation.name,
            term=move.term,
            type=move.type,
            direction=move.direction,
            speed=_speed(claims) if moving else None,
            speed_factor=c.animation.speed_factor,
            rate=round(abs(plan.move_rate), 4) if moving else None,
            unit=plan.move.unit if moving else None,
            tracking=Tracking(
                object=tracking.name,
                kind=tracking.kind,
                direction=tracking.direction,  # type: ignore[arg-type]
                speed_mps=tracking.speed,
            )
            if tracking
            else None,
        ),
        effects=[Effect(name=cl.word, level=cl.level) for cl in claims if cl.kind == "effect"],
    )


def structured_claims(s: StructuredCaption) -> list[Claim]:
    """What a structured caption asserts, read back from its data (as stored in a recipe or a sidecar)."""
    names = [o.name for o in s.objects]
    claims: list[Claim] = []

    def add(
        kind: str,
        where: str,
        objects: tuple[int, ...] = (),
        word: str = "",
        value: float | None = None,
        level: str = "",
    ) -> None:
        claims.append(Claim(kind, f"{STRUCTURED}.{where}", objects, word, value, level, STRUCTURED))  # type: ignore[arg-type]

    for i, o in enumerate(s.objects):
        where = f"objects[{i}]"
        add("object", f"{where}: {o.description}", (i,), o.name)
        add("size", f"{where}.size_m", (i,), o.size_axis, o.size_m)
        add("position", f"{where}.position.x_m", (i,), "x", o.position.x_m)
        add("position", f"{where}.position.y_m", (i,), "y", o.position.y_m)
        for axis, value in (("x", o.position.frame_x), ("y", o.position.frame_y)):
            if value is not None:
                add("frame_position", f"{where}.position.frame_{axis}", (i,), axis, value)
        if o.on_top_of is not None:  # a name that is no other object is judged false (top == base)
            base = names.index(o.on_top_of) if o.on_top_of in names and o.on_top_of != o.name else i
            add("on_top", f"{where}.on_top_of", (i, base))
        if o.movement is not None:
            add("object_motion", f"{where}.movement", (i,), o.movement.direction, o.movement.speed_mps)
    add("background" if s.background.fills_frame else "lit_by", "background", (), s.background.name)
    add("floor", "floor", (), s.floor.name)
    add("framing", "shot.size", (), s.shot.size)
    add("fov", "shot.fov_deg", (), "", s.shot.fov_deg)
    add("view_side", "shot.view_side", (), s.shot.view_side)
    add("elevation", "shot.elevation_deg", (), "", s.shot.elevation_deg)
    camera = s.camera
    if camera.tracking is not None:
        followed = names.index(camera.tracking.object) if camera.tracking.object in names else -1
        if followed < 0:
            add("camera_still", "camera.tracking.object (names no object)")  # judged against a camera that moves
        else:
            kind = "follow_centred" if camera.move in CENTRING_MOVES else "camera_travels"
            add(kind, "camera.tracking", (followed,))
            add(
                "object_motion",
                "camera.tracking.speed_mps",
                (followed,),
                camera.tracking.direction,
                camera.tracking.speed_mps,
            )
    if camera.move == "static":
        add("camera_steady" if camera.tracking is not None else "camera_still", "camera.move")
    else:
        add("camera_move", "camera.rate", (), camera.move, camera.rate)
        if camera.speed is not None:
            add("camera_speed", "camera.speed", (), camera.speed)
    for effect in s.effects:
        add("effect", f"effects.{effect.name}", (), effect.name, None, effect.level)
    return claims


# -- all three -----------------------------------------------------------------------------------------------


def write_styles(c: Combination, plan: ScenePlan | None = None, description: Description | None = None) -> Styles:
    """The three styles of a recipe (its long caption's claims reworded); deterministic per (seed, index, variant)."""
    plan = plan or plan_scene(c)
    claims = (description or describe(c, random.Random(0), plan)).claims
    names = distinct_names(c)
    tracking = _tracking(c, plan, claims, names)
    short, short_claims = _short(c, plan, claims, tracking, _rng(c, "scene"), _rng(c, "camera", c.variant))
    camera, camera_claims = _camera(c, plan, claims, tracking, _rng(c, "camera-caption", c.variant))
    structured = _structured(c, plan, claims, names, tracking)
    return Styles(short, camera, structured, tuple(short_claims + camera_claims))


def with_styles(c: Combination, plan: ScenePlan | None = None, description: Description | None = None) -> Combination:
    styles = write_styles(c, plan, description)
    update = {"caption_short": styles.short, "caption_camera": styles.camera, "captions_structured": styles.structured}
    return c.model_copy(update=update)


def with_all_captions(c: Combination, rng: random.Random | None = None, clip: Clip = PLANNED_CLIP) -> Combination:
    """The recipe with every caption field it lacks written for `clip` (a file's entries may carry some, or none)."""
    lacks_styles = c.caption_short is None or c.caption_camera is None or c.captions_structured is None
    if c.caption is not None and c.captions is not None and not lacks_styles:
        return c
    plan = plan_scene(c, clip)
    if c.caption is None or c.captions is None:
        description = describe(c, rng, plan)
        c = c.model_copy(update={"captions": description.sections, "caption": description.caption})
    if lacks_styles:
        styles = write_styles(c, plan)
        c = c.model_copy(
            update={
                "caption_short": c.caption_short if c.caption_short is not None else styles.short,
                "caption_camera": c.caption_camera if c.caption_camera is not None else styles.camera,
                "captions_structured": c.captions_structured or styles.structured,
            }
        )
    return c


def style_claims(c: Combination, plan: ScenePlan | None = None) -> list[Claim]:
    """The claims of every style the recipe holds: the short and camera captions' (which must be worded in the
    recipe's texts) and the structured caption's, read from its data."""
    claims: list[Claim] = []
    if c.caption_short is not None or c.caption_camera is not None:
        stored = {SHORT: c.caption_short, CAMERA: c.caption_camera}
        claims += [cl for cl in write_styles(c, plan).claims if stored[cl.field] is not None]
    if c.captions_structured is not None:
        claims += structured_claims(c.captions_structured)
    return claims


def structured_json(structured: StructuredCaption | None) -> str | None:
    """The structured caption as the dataset column holds it: JSON text."""
    return None if structured is None else json.dumps(structured.model_dump(mode="json"), sort_keys=True)
