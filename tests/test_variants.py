"""Camera variants: one scene under several camera moves, each derived from (seed, index, variant) alone."""

from __future__ import annotations

import json
import re

import pytest
from prefect.client.schemas.objects import StateType

from simian.combine.combiner import CombinerOptions, combination_for
from simian.combine.sources import FileSource
from simian.combine.variants import CAMERA_FIELDS, CAPTION_FIELDS, VideoKey, camera_variant, scene_id
from simian.errors import InvalidInputError
from simian.orchestration.fanout import ChunkRun
from simian.orchestration.job import RangeJob
from simian.orchestration.summary import summarise

from .conftest import decode_frames, run_simian

SCENE_ONLY = {"variant", *CAMERA_FIELDS, *CAPTION_FIELDS}


def test_variants_share_the_scene_and_differ_in_the_camera_only():
    for options in (CombinerOptions(), CombinerOptions(movement=True, ontop=True, camera_follow=True)):
        for index in range(6):
            variants = [combination_for(5, index, options, v) for v in range(4)]
            assert [v.variant for v in variants] == [0, 1, 2, 3]
            assert variants[0] == combination_for(5, index, options), "variant 0 is the scene itself"
            assert len({v.animation.name for v in variants}) == 4, "each variant has its own camera move"
            assert len({scene_id(v) for v in variants}) == 1
            scene = variants[0].model_dump(exclude=SCENE_ONLY)
            for v in variants[1:]:
                assert v.model_dump(exclude=SCENE_ONLY) == scene
                assert (v.orientation, v.framing.fov, v.framing.coverage_factor) == (
                    variants[0].orientation,
                    variants[0].framing.fov,
                    variants[0].framing.coverage_factor,
                )
                assert v.caption_camera != variants[0].caption_camera
            assert combination_for(5, index, options, 2) == variants[2], "derived from (seed, index, variant) alone"
    assert scene_id(combination_for(5, 0)) != scene_id(combination_for(5, 1))


def test_a_followed_object_keeps_centring_moves():
    options = CombinerOptions(movement=True, camera_follow=True, max_objects=2)
    for index in range(10):
        base = combination_for(8, index, options)
        if any(o.camera_follow for o in base.objects):
            for v in range(1, 3):
                assert combination_for(8, index, options, v).animation.name in {
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


def test_a_scene_without_enough_moves_says_how_many_it_has():
    base = combination_for(7, 0)
    with pytest.raises(InvalidInputError, match="no camera variant 9|not a camera variant"):
        camera_variant(base, 9, 7)
    scene = base.model_copy(update=dict.fromkeys(CAPTION_FIELDS))
    fits = 0
    for v in range(1, 8):
        try:
            camera_variant(scene, v, 7)
            fits += 1
        except InvalidInputError as exc:
            assert f"only {fits} other camera moves" in str(exc) and f"camera_variants {fits + 1} or fewer" in str(exc)
            break


def test_file_entries_get_variants_and_cannot_claim_one(tmp_path):
    entries = [combination_for(3, i).model_dump(mode="json") for i in range(2)]
    source = FileSource("f.json", entries, seed=3)
    v1 = source.get(1, 1)
    assert v1.variant == 1 and v1.animation != source.get(1).animation and scene_id(v1) == scene_id(source.get(1))
    assert v1.caption_camera and v1.caption and "1" in v1.captions_structured.camera.move + "1"
    claimed = FileSource("f.json", [{**entries[0], "variant": 2}])
    with pytest.raises(InvalidInputError, match=r"combinations\[0\]: field 'variant'"):
        claimed.get(0)


def test_variants_belong_to_the_recipe_source_of_a_dataset():
    one = RangeJob(start=0, end=2, seed=1)
    two = RangeJob(start=0, end=2, seed=1, camera_variants=2)
    assert "camera_variants" not in one.identity().recipes, "datasets without variants keep their identity"
    assert two.identity().recipes["camera_variants"] == 2
    assert any("recipes.camera_variants" in d for d in one.identity().differences(two.identity()))
    assert list(two.video_keys()) == [VideoKey(0, 0), VideoKey(0, 1), VideoKey(1, 0), VideoKey(1, 1)]
    assert [VideoKey.parse(k.label()) for k in two.video_keys()] == list(two.video_keys()) and two.video_count() == 4


def test_the_summary_accounts_for_every_variant():
    job = RangeJob(start=0, end=2, seed=1, camera_variants=2)
    outcomes = {
        VideoKey(0, 0): {"status": "rendered", "total_seconds": 1.0, "host": "a"},
        VideoKey(0, 1): {"status": "cached"},
        VideoKey(1, 0): {"status": "rendered", "total_seconds": 3.0, "host": "a"},
        VideoKey(1, 1): {"status": "failed", "reason": "InvalidInputError: no camera variant 1"},
    }
    summary = summarise(job, outcomes, [ChunkRun(0, 2, attempt=1, final=StateType.COMPLETED)], {}, 1.0)
    assert not summary.ok and "1 of 4 combinations failed (1-v1: InvalidInputError" in summary.problems()
    data = summary.as_dict()
    assert (data["rendered"], data["cached"], data["failed"]) == (2, 1, 1)
    assert data["failed_indices"] == [1]
    assert data["failure_reasons"] == {"1-v1": "InvalidInputError: no camera variant 1"}
    json.dumps(data)


@pytest.mark.blender
def test_render_a_range_with_a_preset_and_camera_variants(tmp_path):
    """The acceptance run: 3 scenes, 2 camera moves each, the small preset."""
    out = tmp_path / "out"
    result = run_simian(
        "render",
        "--range",
        "0:3",
        "--seed",
        "7",
        "--preset",
        "preview",
        "--camera-variants",
        "2",
        "--samples",
        "2",
        "-o",
        str(out),
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    videos = sorted(out.glob("*.mp4"))
    assert sorted(v.name for v in videos) == sorted(f"{i:08d}{s}.mp4" for i in range(3) for s in ("", "-v1"))
    rows = {v.stem: json.loads(v.with_suffix(".json").read_text()) for v in videos}
    assert len({row["scene_id"] for row in rows.values()}) == 3
    for row in rows.values():
        for column in ("caption", "caption_short", "caption_camera", "captions_structured"):
            assert isinstance(row[column], str) and row[column], column
        structured = json.loads(row["captions_structured"])
        assert structured["camera"]["move"] == row["combination"]["animation"]["name"]
        assert row["settings"]["preset"] == "preview" and row["settings"]["width"] == 128
    for index in range(3):
        a, b = rows[f"{index:08d}"], rows[f"{index:08d}-v1"]
        assert (a["variant"], b["variant"]) == (0, 1) and a["scene_id"] == b["scene_id"]
        # The metadata row (the sidecar less how the render went) differs in the camera fields, what names the file
        # and the ground truth seen through the other camera (its path, object boxes, the camera file's name).
        timings = {"build_seconds", "render_seconds", "total_seconds", "created_at", "render_pid", "passes_seconds"}
        differing = {k for k in set(a) | set(b) if a.get(k) != b.get(k)} - timings
        seen_through_camera = {"camera", "objects", "visible_objects", "camera_file", "passes"}
        assert differing <= {"file_name", "variant", "sha256", "combination", *CAPTION_FIELDS, *seen_through_camera}, (
            differing
        )
        assert a["objects"][0]["dims"] == b["objects"][0]["dims"], "the same objects"
        assert {k for k in a["combination"] if a["combination"][k] != b["combination"][k]} <= (
            {"variant", *CAMERA_FIELDS, *CAPTION_FIELDS}
        )
        assert a["combination"]["animation"] != b["combination"]["animation"]
    frames = decode_frames(out / "00000001-v1.mp4")
    assert len(frames) == 17 and frames[0].shape[:2] == (128, 128)
    # Shots are framed for the square 17-frame clip, so every claim of every caption holds in it.
    checked = run_simian("check", str(out), timeout=600)
    assert checked.returncode == 0, checked.stdout[-3000:]
    verified = re.search(r"^verified (\d+) of (\d+) claims$", checked.stdout, re.MULTILINE)
    assert verified and verified.group(1) == verified.group(2) and int(verified.group(2)) > 150, checked.stdout[-500:]
