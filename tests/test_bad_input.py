"""Bad input fails before Blender starts, names the field and the fix, and touches no output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simian.combine.combiner import combine

from .conftest import TINY, run_simian


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "00000000.mp4").write_bytes(b"previous output")
    return folder


def _combinations(tmp_path: Path, edit) -> Path:
    data = combine(1, 2)
    edit(data["combinations"][0])
    path = tmp_path / "combinations.json"
    path.write_text(json.dumps(data))
    return path


def _assert_rejected(result, out: Path, tmp_path: Path, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["00000000.mp4"]
    assert (out / "00000000.mp4").read_bytes() == b"previous output"
    assert not (tmp_path / "cache" / "logs").exists(), "Blender was started (its log folder was made)"


def _render(tmp_path: Path, *args: str):
    return run_simian("render", *args, env={"SIMIAN_CACHE_DIR": str(tmp_path / "cache")})


def _set(path: tuple, value):
    def edit(entry):
        node = entry
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("path", "value", "needles"),
    [
        (("objects", 0, "asset"), "builtin:unicorn", ["objects[0].asset", "unknown built-in object", "builtin:chair"]),
        (("background", "asset"), "builtin:mars", ["background.asset", "builtin:sunset"]),
        (("framing", "fov"), 0, ["framing.fov", "greater than 0"]),
        (("objects", 0, "scale", "factor"), -2, ["objects.0.scale.factor", "greater than 0"]),
        (("orientation", "yaw"), float("nan"), ["orientation.yaw", "finite number"]),
        (("objects", 0, "asset"), "file:/no/such/model.glb", ["objects[0].asset", "does not exist"]),
    ],
)
def test_bad_recipe_fields(tmp_path, out, path, value, needles):
    source = _combinations(tmp_path, _set(path, value))
    result = _render(tmp_path, "--index", "0", "--combinations", str(source), *TINY, "-o", str(out))
    _assert_rejected(result, out, tmp_path, *needles)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--width", "65", "--height", "48"], ["width", "odd", "66 or 64"]),
        (["--width", "64", "--height", "47"], ["height", "odd"]),
        (["--width", "64", "--height", "48", "--frames", "0"], ["frames", "greater than or equal to 1"]),
        (["--width", "0", "--height", "48"], ["width", "greater than 0"]),
    ],
)
def test_bad_render_settings(tmp_path, out, args, needles):
    result = _render(tmp_path, "--index", "0", "--seed", "1", *args, "-o", str(out))
    _assert_rejected(result, out, tmp_path, *needles)


def test_index_out_of_range_of_file(tmp_path, out):
    source = _combinations(tmp_path, lambda entry: None)
    result = _render(tmp_path, "--index", "5", "--combinations", str(source), *TINY, "-o", str(out))
    _assert_rejected(result, out, tmp_path, "--index", "holds 2 combinations")
    result = _render(tmp_path, "--range", "1:3", "--combinations", str(source), *TINY, "-o", str(out))
    _assert_rejected(result, out, tmp_path, "--range", "holds 2 combinations")


def test_malformed_json(tmp_path, out):
    source = tmp_path / "broken.json"
    source.write_text('{"seed": 1, "combinations": [ {"index": 0 ')
    result = _render(tmp_path, "--index", "0", "--combinations", str(source), *TINY, "-o", str(out))
    _assert_rejected(result, out, tmp_path, "not valid JSON", "line 1")


def test_unwritable_output_folder(tmp_path, out):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = _render(tmp_path, "--index", "0", "--seed", "1", *TINY, "-o", str(blocker / "sub"))
    _assert_rejected(result, out, tmp_path, "output: cannot write to", "choose another folder")


def test_bad_range_syntax(tmp_path, out):
    result = _render(tmp_path, "--range", "5:2", "--seed", "1", *TINY, "-o", str(out))
    assert result.returncode == 2 and "--range" in result.stderr
