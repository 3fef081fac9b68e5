"""Clip presets: named training shapes fill the render settings not given; a family's limits are enforced."""

from __future__ import annotations

import pytest

from simian.errors import InvalidInputError
from simian.orchestration.job import RangeJob, parse_job
from simian.render.presets import PRESETS
from simian.render.render_settings import RenderSettings, parse_render_settings

from .conftest import run_simian


def test_a_preset_fills_what_is_not_given_and_explicit_settings_win():
    assert RenderSettings(preset="cogvideox").cache_dict() == {
        **RenderSettings().cache_dict(),
        "width": 720,
        "height": 480,
        "frames": 49,
        "fps": 8,
    }
    chosen = RenderSettings(preset="wan-480p", frames=33, width=640)
    assert (chosen.width, chosen.height, chosen.frames, chosen.fps) == (640, 480, 33, 16)
    # The name is a label: the same shape given by hand decides the same pixels (cache key, dataset identity).
    by_hand = RenderSettings(width=720, height=480, frames=49, fps=8)
    assert RenderSettings(preset="cogvideox").cache_dict() == by_hand.cache_dict()
    assert RenderSettings(preset="cogvideox").model_dump()["preset"] == "cogvideox"


@pytest.mark.parametrize(
    ("values", "needles"),
    [
        ({"preset": "wan-480p", "frames": 80}, ["frames: 80 frames do not fit Wan 2.1", "4k+1", "use 77 or 81"]),
        ({"preset": "cogvideox", "frames": 57}, ["8k+1 frames up to 49", "use 49"]),
        ({"preset": "cogvideox", "width": 640}, ["width: 640", "720x480 only"]),
        ({"preset": "cogvideox", "height": 360}, ["height: 720x360", "use 720x480"]),
        ({"preset": "wan-720p", "width": 1000}, ["width: 1000 is not a multiple of 16", "use 992 or 1008"]),
        ({"preset": "preview", "frames": 16}, ["use 13 or 17"]),
    ],
)
def test_shapes_the_family_cannot_take_are_refused_with_the_fix(values, needles):
    with pytest.raises(InvalidInputError) as err:
        parse_render_settings(**values)
    for needle in needles:
        assert needle in str(err.value)


def test_every_preset_fits_its_own_family():
    for preset in PRESETS.values():
        settings = RenderSettings(preset=preset.name)
        assert settings.frames == preset.frames and settings.width % 2 == 0
        assert preset.family.frame_problem(preset.frames) is None
        assert preset.family.width_problem(preset.width) is None
        assert preset.family.height_problem(preset.width, preset.height) is None


def test_flow_parameters_unset_take_the_preset_and_given_ones_win():
    job = parse_job({"start": 0, "end": 2, "preset": "wan-480p", "width": None, "frames": 41})
    assert (job.render.width, job.render.height, job.render.frames, job.render.fps) == (832, 480, 41, 16)
    again = RangeJob(**job.model_dump(mode="json"))  # what a chunk run receives
    assert again.render == job.render
    assert parse_job({"start": 0, "end": 2}).render == RenderSettings()
    with pytest.raises(InvalidInputError, match="parameter 'frames': 40 frames do not fit Wan 2.1.*use 37 or 41"):
        parse_job({"start": 0, "end": 2, "preset": "wan-720p", "frames": 40})


def test_cli_lists_presets_and_refuses_a_misfit_before_rendering(tmp_path):
    listed = run_simian("presets")
    assert listed.returncode == 0, listed.stderr
    for preset in PRESETS.values():
        assert f"{preset.width}x{preset.height}, {preset.frames} frames at {preset.fps} fps" in listed.stdout
    assert "zai-org/CogVideo" in listed.stdout and "Wan2.1" in listed.stdout
    refused = run_simian(
        "render", "--index", "0", "--seed", "1", "--preset", "wan-480p", "--frames", "80", "-o", str(tmp_path / "out")
    )
    assert refused.returncode == 2
    assert "frames: 80 frames do not fit Wan 2.1" in refused.stderr and "use 77 or 81" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "out").exists()
