"""Hostile input: malformed files and hostile values, through `simian render` as a user runs it.

Every case ends in exit status 2 with a short message naming the file, the index and the field, no
traceback, the output folder as it was, no Blender started (its log folder never made), and nothing
written outside the output and cache folders. The reader of the reference's format is also fuzzed:
whatever JSON value stands anywhere in an entry, it maps or raises InvalidInputError, nothing else.
Blender-backed cases at the end: an image Blender cannot load fails its combination, any index renders,
a range of 10^8 starts at once in flat memory, and Ctrl-C ends with status 130 and one line.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simian.combine.combiner import combine
from simian.combine.sources import FileSource
from simian.errors import InvalidInputError

from .conftest import TINY, decode_frames
from .reference_files import Flags, reference_file
from .test_hostile_network import Sandbox

MAX_MESSAGE_CHARS = 2000  # a short error, whatever the size of the bad value
FIVE_MB = 5 * 1024 * 1024
PREVIOUS = b"previous output"


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    box = Sandbox(tmp_path / "sandbox")
    (box.out / "00000000.mp4").write_bytes(PREVIOUS)
    return box


def _simian(
    sandbox: Sandbox, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One CLI run in the sandbox; fails the test if it wrote anything outside the output and cache folders."""
    before = sandbox.files()
    result = subprocess.run(
        [sys.executable, "-m", "simian.cli", *args],
        cwd=sandbox.root / "work",
        env=sandbox.env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert sandbox.files() == before, "the run wrote outside its output and cache folders"
    return result


def _render(sandbox: Sandbox, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _simian(sandbox, "render", *args, *TINY, "-o", str(sandbox.out), env=env)


def _assert_refused(result: subprocess.CompletedProcess[str], sandbox: Sandbox, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert len(result.stderr) < MAX_MESSAGE_CHARS, f"{len(result.stderr)} characters of error"
    assert sorted(p.name for p in sandbox.out.iterdir()) == ["00000000.mp4"], "the output folder was touched"
    assert (sandbox.out / "00000000.mp4").read_bytes() == PREVIOUS
    assert not (sandbox.cache / "logs").exists(), "Blender was started"


def _write(sandbox: Sandbox, data: Any, name: str = "recipe.json") -> Path:
    path = sandbox.root / "work" / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def _edit(entry: dict, path: tuple, value: Any) -> None:
    node = entry
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


# -- reference-format files with a wrong type anywhere --------------------------------------------------------------

REFERENCE_CASES = [
    (("objects",), "chair", "objects"),
    (("stage",), None, "stage"),
    (("objects", 0, "movement", "speed"), "fast", "objects.0.movement.speed"),
    (("stage", "material", "name"), None, "stage.material.name"),
    (("objects", 0), None, "objects.0"),
    (("objects", 0, "uid"), 5, "objects.0.uid"),
    (("objects", 0, "uid"), "0" * 31, "objects.0.uid"),
    (("objects", 0, "movement", "direction"), "sideways", "objects.0.movement.direction"),
    (("objects", 0, "movement"), [], "objects.0.movement"),
    (("objects", 0, "scale"), "big", "objects.0.scale"),
    (("objects", 0, "scale", "factor"), -1, "objects.0.scale.factor"),
    (("objects", 0, "camera_follow"), "yes", "objects.0.camera_follow"),
    (("objects", 0, "placement"), 9, "objects.0.placement"),
    (("objects", 0, "name"), 7, "objects.0.name"),
    (("background",), None, "background"),
    (("background", "id"), "../../etc/passwd", "background.id"),
    (("orientation",), "up", "orientation"),
    (("orientation", "yaw"), float("nan"), "orientation.yaw"),
    (("framing", "fov"), [], "framing.fov"),
    (("animation",), None, "animation"),
    (("animation", "name"), "spin", "animation.name"),
    (("stage", "material"), "Wood", "stage.material"),
    (("stage", "material", "name"), "!!!", "stage.material.name"),
    (("stage", "uv_scale"), [1], "stage.uv_scale.1"),
    (("postprocessing", "bloom"), "bright", "postprocessing.bloom"),
    (("postprocessing", "ssao", "type"), "ultra", "postprocessing.ssao.type"),
    (("index",), "zero", "index"),
]


CASE_IDS = [f"{field}={value!r:.12}" for _, value, field in REFERENCE_CASES]


@pytest.mark.parametrize(("path", "value", "field"), REFERENCE_CASES, ids=CASE_IDS)
def test_reference_file_with_a_wrong_type(sandbox, path, value, field):
    data = reference_file(seed=2, count=2, flags=Flags(movement=True, camera_follow=True))
    _edit(data["combinations"][1], path, value)
    source = _write(sandbox, data)
    result = _render(sandbox, "--range", "0:2", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[1]: field '{field}'")


# -- the reference reader is total -----------------------------------------------------------------------------------

HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 3, 2**63, 10**4000, 1e308, -1e308, float("nan"), float("inf"), "", "x", "fast",
    "a" * 5000, "\ud800", "../../etc/passwd", "file:/etc", "objaverse:xyz", "polyhaven:a b", "builtin:unicorn",
    [], [None], [1, 2, 3], {}, {"follow": True}, {"direction": "up", "speed": 0.1}, {"name": None},
]  # fmt: skip


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _slots(node: Any, path: tuple = ()) -> list[tuple]:
    """Every key path inside a JSON document (dict keys and list positions)."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _slots(child, (*path, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += _slots(child, (*path, i))
    return found


def _mutations(entry: dict, rng: random.Random, count: int) -> list[dict]:
    slots = _slots(entry)
    mutated = []
    for _ in range(count):
        copy_ = copy.deepcopy(entry)
        path = rng.choice(slots)
        if rng.random() < 0.15:
            parent = copy_
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                del parent[path[-1]]
        else:
            value = rng.choice([*HOSTILE_VALUES, _nested(rng.randint(1, 400))])
            _edit(copy_, path, value)
        mutated.append(copy_)
    return mutated


@pytest.mark.parametrize(
    "make",
    [
        lambda: reference_file(seed=4, count=1, flags=Flags(movement=True, ontop=True, camera_follow=True)),
        lambda: combine(4, 1),
    ],
    ids=["reference format", "our format"],
)
def test_any_value_anywhere_maps_or_is_refused_by_name(make: Callable[[], dict]) -> None:
    entry = make()["combinations"][0]
    rng = random.Random(1)
    outcomes = {"loaded": 0, "refused": 0}
    for mutated in _mutations(entry, rng, 1500):
        try:
            FileSource("hostile.json", [mutated]).validate(0, 1)
        except InvalidInputError as exc:
            message = str(exc)
            assert message.startswith("hostile.json: combinations[0]"), message
            assert max(len(line) for line in message.splitlines()) < 1000, message[:2000]
            outcomes["refused"] += 1
        else:
            outcomes["loaded"] += 1
    assert outcomes["refused"] > 500 and outcomes["loaded"] > 10, outcomes


# -- files that are not JSON we can use ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"[" * 100_000 + b"]" * 100_000, ["nests more than 64 levels deep (SIMIAN_JSON_MAX_DEPTH)"]),
        (b'{"combinations": [{"index": ' + b"9" * 5000 + b"}]}", ["integer of more than"]),
        (b'{"combinations": [\xff\xfe]}', ["not UTF-8", "0xff at offset 18"]),
        (json.dumps(combine(1, 1)).encode("utf-16"), ["not UTF-8", "UTF-16"]),
        (b"\xff\xfe", ["not UTF-8", "UTF-16"]),
        (b"", ["not valid JSON"]),
        (b"null", ["must be a JSON object with a 'combinations' list"]),
        (b'{"combinations": "everything"}', ["must be a JSON object with a 'combinations' list"]),
        (b'{"combinations": [null, 3, "x"]}', ["combinations[0]", "valid dictionary"]),
    ],
    ids=[
        "100k brackets",
        "5000-digit integer",
        "invalid UTF-8",
        "UTF-16",
        "UTF-16 BOM only",
        "empty",
        "null",
        "combinations not a list",
        "entry not an object",
    ],
)
def test_file_that_is_not_usable_json(sandbox, content, needles):
    source = _write(sandbox, content)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, str(source), *needles)


def test_lone_surrogate_in_a_name(sandbox):
    data = combine(1, 1)
    text = json.dumps(data).replace(json.dumps(data["combinations"][0]["objects"][0]["name"]), '"\\ud800"', 1)
    source = _write(sandbox, text.encode())
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[0]: field 'objects.0.name'")


# -- values too large to echo ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "prefix", "fill", "field"),
    [
        (("objects", 0, "asset"), "builtin:", "a", "objects.0.asset"),
        (("stage", "floor"), "file:", "f", "stage.floor"),
        (("animation", "name"), "", "a", "animation.name"),
        (("orientation", "yaw"), "", "9", "orientation.yaw"),
    ],
    ids=["asset", "floor path", "animation", "yaw"],
)
def test_five_megabyte_value_is_shortened(sandbox, path, prefix, fill, field):
    data = combine(1, 1)
    _edit(data["combinations"][0], path, prefix + fill * FIVE_MB)
    source = _write(sandbox, data)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[0]: field '{field}'")


# -- hostile flag values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", "0", "-1", "soon", "9" * 5000])
def test_timeout_must_be_finite_and_positive(sandbox, value):
    result = _render(sandbox, "--seed", "1", "--index", "0", f"--timeout={value}")
    _assert_refused(result, sandbox, "--timeout", "seconds above 0")


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--index", "9" * 5000, "not a whole number"),
        ("--index", "-1", "negative"),
        ("--index", str(2**63), "indices must be below"),
        ("--range", "0:" + "9" * 5000, "START:END"),
        ("--range", "5:5", "START < END"),
    ],
    ids=["5000 digits", "negative", "2**63", "range 5000 digits", "empty range"],
)
def test_index_values(sandbox, flag, value, needle):
    result = _render(sandbox, "--seed", "1", flag, value)
    _assert_refused(result, sandbox, flag, needle)


def test_index_above_a_file_entrys_range(sandbox):
    data = combine(1, 1)
    data["combinations"][0]["index"] = 2**70
    source = _write(sandbox, data)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[0]: field 'index'", "largest index")


# -- paths -----------------------------------------------------------------------------------------------------------


def test_combinations_path_is_a_directory(sandbox):
    result = _render(sandbox, "--index", "0", "--combinations", "/etc")
    _assert_refused(result, sandbox, "/etc is a directory")
    assert "simian combine" not in result.stderr


def test_duplicate_indices_in_one_file(sandbox):
    data = combine(1, 4)
    data["combinations"][3]["index"] = 1
    source = _write(sandbox, data)
    result = _render(sandbox, "--range", "0:2", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[3]: field 'index'", "also the index of combinations[1]")


def test_implicit_index_colliding_with_an_explicit_one(sandbox):
    entries = combine(1, 2)["combinations"]
    del entries[0]["index"]  # rendered under its position, 0
    entries[1]["index"] = 0
    source = _write(sandbox, entries)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[1]: field 'index'", "combinations[0]")


@pytest.mark.parametrize(
    ("path", "value", "needles"),
    [
        (("stage", "floor"), "file:/etc", ["stage.floor", "/etc holds no Diffuse map"]),
        (("objects", 0, "asset"), "file:/etc/ssl.glb", ["objects[0].asset", "does not exist"]),
        (("objects", 0, "asset"), "file:/" + "d" * 300 + ".glb", ["objects[0].asset", "cannot read"]),
        (("objects", 0, "asset"), "file:/" + "d/" * 3000 + "x.glb", ["objects.0.asset", "longer than a path"]),
        (("objects", 0, "asset"), "objaverse:not-a-uid", ["objects.0.asset", "not an Objaverse uid"]),
        (("background", "asset"), "polyhaven:a b", ["background.asset", "not a Poly Haven id"]),
        (("background", "asset"), "objaverse:" + "0" * 32, ["background.asset", "not a background"]),
    ],
    ids=[
        "floor folder without Diffuse",
        "missing model",
        "name too long",
        "path too long",
        "objaverse id",
        "polyhaven id",
        "object source as background",
    ],
)
def test_asset_checked_before_anything_starts(sandbox, path, value, needles):
    data = combine(1, 1)
    _edit(data["combinations"][0], path, value)
    source = _write(sandbox, data)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[0]", *needles)


def test_model_path_that_is_a_folder(sandbox):
    folder = sandbox.root / "work" / "model.glb"
    folder.mkdir()
    data = combine(1, 1)
    _edit(data["combinations"][0], ("objects", 0, "asset"), f"file:{folder}")
    source = _write(sandbox, data)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, "objects[0].asset", "is a folder, not a file")


@pytest.mark.parametrize("taken_by", ["link", "file"])
def test_frame_folder_taken_by_a_link_or_a_file(sandbox, taken_by):
    elsewhere = sandbox.root / "work" / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not yours")
    (sandbox.out / "00000000.mp4").unlink()
    frames = sandbox.out / "00000001"
    if taken_by == "link":
        frames.symlink_to(elsewhere, target_is_directory=True)
    else:
        frames.write_bytes(PREVIOUS)
    result = _simian(sandbox, "render", "--range", "0:2", "--seed", "1", "--images", *TINY, "-o", str(sandbox.out))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    kind = "a symbolic link" if taken_by == "link" else "a file"
    assert f"output: {frames} is {kind} where the frames of combination 1 go" in result.stderr
    assert sorted(p.name for p in sandbox.out.iterdir()) == ["00000001"], "the output folder was touched"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert not (sandbox.cache / "logs").exists(), "Blender was started"


def test_video_path_taken_by_a_folder(sandbox):
    (sandbox.out / "00000000.mp4").unlink()
    (sandbox.out / "00000000.mp4").mkdir()
    result = _simian(sandbox, "render", "--index", "0", "--seed", "1", *TINY, "-o", str(sandbox.out))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "is a folder where a file of combination 0 goes" in result.stderr
    assert not (sandbox.cache / "logs").exists(), "Blender was started"


def test_combine_never_replaces_a_folder(sandbox):
    folder = sandbox.root / "work" / "precious"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = _simian(sandbox, "combine", "--seed", "1", "--count", "2", "-o", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"--output: {folder} is a folder" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"] and (folder / "keep.txt").read_text() == "mine"


# -- with Blender ----------------------------------------------------------------------------------------------------


@pytest.mark.blender
def test_background_image_blender_cannot_load_fails_the_combination(sandbox):
    broken = sandbox.root / "work" / "sky.hdr"
    broken.write_bytes(b"#?RADIANCE\n" + b"\x01" * 4096)  # a header and no image
    data = combine(1, 1)
    data["combinations"][0]["background"] = {"asset": f"file:{broken}", "name": "starry sky"}
    data["combinations"][0]["caption"] = data["combinations"][0]["captions"] = None
    source = _write(sandbox, data)
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    assert result.returncode == 1, result.stderr
    assert f"Blender could not load the image {broken}" in result.stderr and "1 failed" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") <= 4, result.stderr
    assert sorted(p.name for p in sandbox.out.iterdir()) == ["00000000.mp4"]
    assert (sandbox.out / "00000000.mp4").read_bytes() == PREVIOUS, "no video under a caption naming that sky"
    logs = list((sandbox.cache / "logs").iterdir())
    assert len(logs) == 1 and f"(Blender log: {logs[0]})" in result.stderr, "the failed render's log is kept and named"


@pytest.mark.blender
def test_index_beyond_the_cycles_seed_range_renders(sandbox):
    index = 2**31
    result = _render(sandbox, "--seed", "1", "--index", str(index))
    assert result.returncode == 0, result.stderr
    assert len(decode_frames(sandbox.out / f"{index:08d}.mp4")) == 6
    assert json.loads((sandbox.out / f"{index:08d}.json").read_text())["index"] == index
    assert list((sandbox.cache / "logs").iterdir()) == [], "a successful render leaves no log"
    assert not any((sandbox.root / "tmp").iterdir()), "nothing in TMPDIR"


def _rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for {pid}")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _blender_rss_after_one_render(sandbox, out: Path) -> float:
    """The Blender child's resident memory once the first video of a two-combination range is done: its own
    footprint (which grows with the machine's core count, Cycles keeping per-thread state), whatever the range."""
    argv = [sys.executable, "-m", "simian.cli", "render", "--seed", "1", "--range", "0:2", *TINY, "-o", str(out)]
    process = subprocess.Popen(argv, cwd=sandbox.root / "work", env=sandbox.env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        assert process.stderr is not None
        lines = []
        while not any("[1/2]" in line for line in lines) and process.poll() is None:
            lines.append(process.stderr.readline())
        assert any("[1/2]" in line for line in lines), "".join(lines)
        return max((_rss_mb(c, "VmRSS") for c in _children(process.pid)), default=0.0)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.blender
def test_huge_range_starts_at_once_and_ctrl_c_ends_it(sandbox, tmp_path):
    """`--range 0:100000000` derives each combination when it renders: the first render starts within 10 s in
    flat memory. Ctrl-C (SIGINT to the whole foreground group, as a terminal sends it) ends the run with status
    130 and one line, kills the render in progress and leaves no partial output and no log behind."""
    argv = [sys.executable, "-m", "simian.cli", "render", "--seed", "1", "--range", "0:100000000", *TINY,
            "-o", str(sandbox.out)]  # fmt: skip
    stderr_path = sandbox.root / "cache" / "stderr.txt"
    before = sandbox.files()
    started = time.monotonic()
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(argv, cwd=sandbox.root / "work", env=sandbox.env(), stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)  # fmt: skip
        try:
            logs = sandbox.cache / "logs"
            while not (logs.exists() and any(logs.iterdir())) and time.monotonic() - started < 60:
                time.sleep(0.05)
            first_render_s = time.monotonic() - started
            while "[1/100000000]" not in stderr_path.read_text() and time.monotonic() - started < 180:
                time.sleep(0.1)
            assert "[1/100000000]" in stderr_path.read_text(), stderr_path.read_text()
            parent_mb = _rss_mb(process.pid)
            children = _children(process.pid)
            child_mb = max((_rss_mb(c, "VmRSS") for c in children), default=0.0)
            time.sleep(1.0)  # into the second render
            os.killpg(process.pid, signal.SIGINT)
            status = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    print(f"first render after {first_render_s:.1f} s; RSS: simian {parent_mb:.0f} MB, Blender {child_mb:.0f} MB")
    assert first_render_s < 10
    assert parent_mb < 500, "the range is held in the simian process: flat, whatever its length"
    err = stderr_path.read_text()
    assert status == 130, err
    assert "Traceback" not in err and err.splitlines()[-1] == "simian: interrupted", err
    assert err.count("simian: interrupted") == 1 and "ERROR" not in err, err
    deadline = time.monotonic() + 5  # the Blender child is killed; multiprocessing's tracker sees EOF and exits
    while any(Path(f"/proc/{c}").exists() for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{c}").exists() for c in children), "a child process outlived Ctrl-C"
    assert not [p for p in sandbox.out.iterdir() if p.name.startswith(".")], "a partial output was left"
    assert list((sandbox.cache / "logs").iterdir()) == [], "the interrupted render's log was left"
    assert (sandbox.out / "00000000.mp4").exists()
    assert sandbox.files() == before, "the run wrote outside its output and cache folders"
    baseline_mb = _blender_rss_after_one_render(sandbox, tmp_path / "baseline")
    assert child_mb < baseline_mb + 50, f"Blender {child_mb:.0f} MB for the huge range, {baseline_mb:.0f} MB for 0:2"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("orientation", "yaw"), "30", "orientation.yaw"),
        (("objects", 0, "placement"), True, "objects.0.placement"),
        (("objects", 0, "scale", "factor"), "1.5", "objects.0.scale.factor"),
        (("objects", 0, "camera_follow"), 1, "objects.0.camera_follow"),
    ],
)
def test_wrong_types_are_refused_not_coerced(sandbox, path, value, field):
    """The README promises strict types: a string is not a number, a bool is not an int."""
    data = combine(1, 1)
    _edit(data["combinations"][0], path, value)
    source = _write(sandbox, json.dumps(data).encode())
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"{source}: combinations[0]: field '{field}'")


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/dev/urandom"])
def test_a_combinations_path_that_is_not_a_regular_file_is_refused_at_once(sandbox, kind):
    """A FIFO would block the read forever; /dev/zero and /dev/urandom never end."""
    path = kind
    if kind == "fifo":
        path = str(sandbox.root / "work" / "pipe.json")
        os.mkfifo(path)
    result = _simian(
        sandbox, "render", "--index", "0", "--combinations", path, *TINY, "-o", str(sandbox.out), timeout=30
    )
    _assert_refused(result, sandbox, f"combinations: {path} is not a regular file")


def test_a_combinations_file_over_the_size_cap_is_refused_before_it_is_read(sandbox):
    source = _write(sandbox, json.dumps(combine(1, 3)).encode())
    result = _render(sandbox, "--index", "0", "--combinations", str(source), env={"SIMIAN_JSON_MAX_BYTES": "1000"})
    _assert_refused(result, sandbox, f"combinations: {source} is", "over SIMIAN_JSON_MAX_BYTES (1000)")


def test_a_long_list_of_problems_is_capped(sandbox):
    """Forty unknown fields give twenty lines and a count, not forty (nor 10,000 for 10,000)."""
    data = combine(1, 1)
    data["combinations"][0].update({f"unknown_{n}": n for n in range(40)})
    source = _write(sandbox, json.dumps(data).encode())
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 21 and "field 'unknown_0'" in lines[0], result.stderr
    assert lines[-1] == "simian: error: ... and 20 more problems (fix these first, then run again)", lines[-1]


def test_outputs_in_system_folders_are_refused_even_through_a_link(sandbox):
    """`render -o` through a link into /usr/lib, `combine -o /etc/passwd` (as root): refused, nothing written."""
    link = sandbox.root / "work" / "innocent"
    link.symlink_to("/usr/lib")
    result = _simian(sandbox, "render", "--index", "0", "--seed", "1", *TINY, "-o", str(link / "videos"))
    assert result.returncode == 2 and "is in a system folder (/usr/lib/videos)" in result.stderr, result.stderr
    assert not Path("/usr/lib/videos").exists()
    before = Path("/etc/passwd").read_bytes()
    result = _simian(sandbox, "combine", "--seed", "1", "--count", "1", "-o", "/etc/passwd")
    assert result.returncode == 2 and "is in a system folder (/etc/passwd)" in result.stderr, result.stderr
    assert Path("/etc/passwd").read_bytes() == before
    result = _simian(sandbox, "check", "--pixels", "--seed", "1", "--count", "1", *TINY, "-o", str(link / "kept"))
    assert result.returncode == 2 and "is in a system folder (/usr/lib/kept)" in result.stderr, result.stderr
    assert not Path("/usr/lib/kept").exists()


@pytest.mark.blender
def test_undecodable_models_and_images_fail_in_one_line_naming_the_log(sandbox):
    """A .glb that is a zip, random bytes as an .hdr, a PNG floor map claiming 2,000,000 x 2,000,000 pixels: each
    combination fails with one line that names its Blender log; the log keeps Blender's traceback, the screen
    never shows one."""
    import struct
    import zipfile
    import zlib

    model, sky = sandbox.root / "work" / "model.glb", sandbox.root / "work" / "sky.hdr"
    with zipfile.ZipFile(model, "w") as archive:
        archive.writestr("scene.gltf", "{}")
    sky.write_bytes(bytes(range(256)) * 64)
    floor = sandbox.root / "work" / "floor"
    floor.mkdir()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 2_000_000, 2_000_000, 8, 2, 0, 0, 0)
    (floor / "Diffuse.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    data = combine(1, 3)
    first, second, third = data["combinations"]
    first["objects"][0]["asset"] = f"file:{model}"
    second["background"] = {"asset": f"file:{sky}", "name": "sky"}
    third["stage"]["floor"] = f"file:{floor}"
    for entry in (first, second, third):
        entry["caption"] = entry["captions"] = None
    source = _write(sandbox, data)
    result = _render(sandbox, "--range", "0:3", "--combinations", str(source))
    assert result.returncode == 1 and "0 rendered, 3 failed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 3 and all("(Blender log: " in line for line in errors), result.stderr
    assert f"could not import {model}" in errors[0] and f"could not load the image {sky}" in errors[1], errors
    assert f"could not load the image {floor / 'Diffuse.png'}" in errors[2], errors
    logs = sorted((sandbox.cache / "logs").iterdir())
    assert len(logs) == 3 and any("Traceback" in log.read_text(errors="replace") for log in logs), "logs keep it all"


def test_a_file_asset_over_the_size_cap_or_not_a_regular_file_is_refused_before_blender(sandbox):
    """A 2 GiB sparse .glb reached 4.4 GB inside Blender's importer before failing; a FIFO named .hdr never ends."""
    big = sandbox.root / "work" / "big.glb"
    with big.open("wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: no disk used
    pipe = sandbox.root / "work" / "sky.hdr"
    os.mkfifo(pipe)
    for field, value, needle in (
        ("objects", f"file:{big}", "over SIMIAN_FILE_ASSET_MAX_BYTES (536870912)"),
        ("background", f"file:{pipe}", "is not a regular file"),
    ):
        data = combine(1, 1)
        entry = data["combinations"][0]
        if field == "objects":
            entry["objects"][0]["asset"] = value
        else:
            entry["background"] = {"asset": value, "name": "sky"}
        entry["caption"] = entry["captions"] = None
        source = _write(sandbox, data)
        result = _render(sandbox, "--index", "0", "--combinations", str(source))
        _assert_refused(result, sandbox, needle)


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("objects", 0, "name"), "chair\u202egnp.exe", "U+202E"),
        (("objects", 0, "description"), "a chair\x1b[31m red", "U+001B"),
        (("background", "name"), "sky\nline two", "U+000A"),
        (("caption",), "x" * 5_000_000, "at most 20000 characters"),
    ],
)
def test_text_that_would_reach_documents_unfiltered_is_refused(sandbox, path, value, needle):
    """Names, descriptions and captions reach sidecars, cards and training data: control characters, bidi
    overrides and 5 MB captions are refused, naming the field."""
    data = combine(1, 1)
    _edit(data["combinations"][0], path, value)
    source = _write(sandbox, json.dumps(data).encode())
    result = _render(sandbox, "--index", "0", "--combinations", str(source))
    _assert_refused(result, sandbox, f"field '{'.'.join(str(p) for p in path)}'", needle)
