"""Caption styles: a short sentence, the camera move in CameraBench terms, and a structured caption; all written
from the long caption's claims, deterministic per (seed, index), and verified by `simian check`."""

from __future__ import annotations

import functools
import json
import re

import pytest

from simian.captions.styles import (
    CAMERA_TERMS,
    MAX_SHORT_WORDS,
    SPEED_ADJECTIVES,
    structured_json,
    with_all_captions,
    with_styles,
)
from simian.combine.combiner import CombinerOptions, combination_for
from simian.recipe.combination import CameraAnimation, Combination, parse_combination
from simian.render.blender.claim_check import check_combination
from simian.scene.recognition import FAR_FLOOR_NAMES

OPTIONS = (
    CombinerOptions(),
    CombinerOptions(movement=True, ontop=True, camera_follow=True, max_objects=9),
    CombinerOptions(random=True, max_objects=6),
)


@functools.cache
def _drawn(count: int = 40) -> tuple[Combination, ...]:
    """The same recipes for every test that reads them: drawn once per test process (each is ~60-170 ms of shot
    fitting, and five tests read these 120)."""
    return tuple(combination_for(seed, i, opts) for seed, opts in enumerate(OPTIONS, 20) for i in range(count))


def test_styles_are_deterministic_per_seed_and_index_and_their_wording_varies():
    a, b = combination_for(9, 3), combination_for(9, 3)
    assert (a.caption_short, a.caption_camera, a.captions_structured) == (
        b.caption_short,
        b.caption_camera,
        b.captions_structured,
    )
    drawn = _drawn()
    openings = {c.caption_short.split()[0] for c in drawn if c.caption_short}
    assert len(openings) >= 3, openings
    assert len({c.caption_camera.split(":")[0] for c in drawn if c.caption_camera}) > 6


def test_the_short_caption_is_one_sentence_with_objects_setting_and_camera():
    for c in _drawn():
        text = c.caption_short
        assert text and text.endswith(".") and text.count(".") == 1, text
        assert len(text.split()) <= MAX_SHORT_WORDS, text
        assert c.stage.name in text or FAR_FLOOR_NAMES.get(c.stage.floor, "?") in text, text
        term = CAMERA_TERMS[c.animation.name]
        followed = any(o.camera_follow for o in c.objects) and "tracks the" in text
        assert term.verb in text or followed or (c.animation.name == "static" and "still" in text), text
        assert any(o.name.split()[0] in text for o in c.objects), text


@pytest.mark.parametrize(
    ("move", "says", "never"),
    [
        ("zoom_in", ["Zoom in", "lens narrows", "stays in place"], ["dolly"]),
        ("dolly_in", ["Dolly in", "moves forward", "lens unchanged"], ["zoom"]),
        ("dolly_out", ["Dolly out", "moves backward"], ["zoom"]),
        ("orbit_left", ["Arc left", "clockwise seen from above"], ["orbit"]),
        ("orbit_up", ["Crane up", "arc over the scene"], ["pedestal"]),
        ("crane_up", ["Pedestal up", "straight up without turning"], ["crane"]),
        ("pan_right", ["Pan right", "on the spot"], []),
        ("tilt_down", ["Tilt down"], []),
        ("tilt_left", ["Roll counterclockwise", "lens axis"], ["tilt"]),
        ("static", ["Static"], []),
    ],
)
def test_the_camera_caption_names_the_move_in_camerabench_terms(move, says, never):
    base = combination_for(4, 0, CombinerOptions(max_objects=1))
    c = with_styles(base.model_copy(update={"animation": CameraAnimation(name=move, speed_factor=1.0)}))
    text = c.caption_camera.lower()
    for words in says:
        assert words.lower() in text, text
    for word in never:
        assert word not in text, text
    if move != "static":
        speed = c.captions_structured.camera.speed
        assert speed is not None and (speed in text or SPEED_ADJECTIVES[speed] in text), "its speed, as it looks"
        assert f"{c.captions_structured.camera.rate:.2f} " in text, "its rate"


def test_tracking_shots_are_named_by_the_followed_objects_direction():
    seen = set()
    for i in range(60):
        c = combination_for(31, i, CombinerOptions(movement=True, camera_follow=True, max_objects=2))
        tracking = c.captions_structured.camera.tracking
        if tracking is None:
            continue
        seen.add(tracking.kind)
        assert c.caption_camera.lower().startswith(tracking.kind), c.caption_camera
        assert f"{tracking.speed_mps:.2f} meters per second" in c.caption_camera
        assert f"tracks the {tracking.object}" in c.caption_short
    assert {"side tracking", "lead tracking", "tail tracking"} <= seen, seen


def test_the_structured_caption_states_the_recipe_as_data():
    for c in _drawn(15):
        s = c.captions_structured
        data = json.loads(structured_json(s) or "null")
        assert set(data) == {"objects", "background", "floor", "shot", "camera", "effects"}
        assert [o["asset"] for o in data["objects"]] == [o.asset for o in c.objects]
        assert [o["size_m"] for o in data["objects"]] == [o.scale.factor for o in c.objects]
        assert data["camera"]["move"] == c.animation.name
        assert data["camera"]["term"] == CAMERA_TERMS[c.animation.name].term
        assert data["shot"]["fov_deg"] == c.framing.fov and data["floor"]["name"] == c.stage.name
        for o, recipe in zip(data["objects"], c.objects, strict=True):
            assert (o["movement"] is None) == (
                recipe.movement is None
                and not any(other.placement == recipe.placement and other.movement for other in c.objects)
            )


def test_a_file_entry_without_styles_gets_them_and_keeps_its_own():
    data = combination_for(5, 2).model_dump(mode="json")
    bare = parse_combination({**data, "caption_short": None, "caption_camera": None, "captions_structured": None})
    filled = with_all_captions(bare)
    assert filled.caption_short == combination_for(5, 2).caption_short
    assert filled.captions_structured == combination_for(5, 2).captions_structured
    own = with_all_captions(bare.model_copy(update={"caption_short": "my own words"}))
    assert own.caption_short == "my own words" and own.caption_camera == filled.caption_camera


@pytest.mark.blender
def test_check_verifies_every_style_and_catches_false_ones():
    c = next(
        c
        for c in (combination_for(3, i, CombinerOptions(max_objects=3, movement=True)) for i in range(40))
        if c.animation.name not in ("static",) and any(o.movement for o in c.objects)
    )
    report = check_combination(c)
    fields = {v.claim.field for v in report.verdicts}
    assert fields == {"caption", "caption_short", "caption_camera", "captions_structured"}
    assert not report.failures, [(v.claim.field, v.claim.kind, v.detail) for v in report.failures]
    assert sum(v.claim.kind == "position" for v in report.verdicts) == 2 * len(c.objects)

    s = c.captions_structured
    wrong_move = "zoom_out" if c.animation.name != "zoom_out" else "zoom_in"
    first = s.objects[0]
    forged = s.model_copy(
        update={
            "objects": [
                first.model_copy(
                    update={
                        "size_m": first.size_m * 1.5,
                        "position": first.position.model_copy(update={"x_m": first.position.x_m + 0.3}),
                    }
                ),
                *s.objects[1:],
            ],
            "camera": s.camera.model_copy(update={"move": wrong_move}),
        }
    )
    term = CAMERA_TERMS[c.animation.name]
    lying = c.model_copy(
        update={
            "captions_structured": forged,
            "caption_camera": c.caption_camera.replace(term.term.capitalize(), "Truck left").replace(
                term.term, "truck"
            ),
        }
    )
    failed = {(v.claim.field, v.claim.kind) for v in check_combination(lying).failures}
    assert ("captions_structured", "size") in failed and ("captions_structured", "position") in failed
    assert ("captions_structured", "camera_move") in failed
    assert ("caption_camera", "camera_move") in failed, "a camera caption that names another move is not worded"


def test_the_short_caption_names_the_largest_objects_first_and_spells_small_counts():
    checked = 0
    for c in _drawn():
        text = c.caption_short
        assert not re.search(r"\b\d+ more objects", text), text
        if c.captions_structured.camera.tracking is not None or len(c.objects) < 2:
            continue
        largest = max(c.objects, key=lambda o: o.scale.factor)
        assert largest.name.split()[0] in text, (text, [(o.name, o.scale.factor) for o in c.objects])
        checked += 1
    assert checked >= 20, checked


def test_camera_captions_never_nest_parentheses():
    for c in _drawn():
        for text in (c.caption, c.caption_camera, c.caption_short):
            depth = 0
            for char in text:
                depth += {"(": 1, ")": -1}.get(char, 0)
                assert 0 <= depth <= 1, text
