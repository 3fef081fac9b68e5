"""Rendering with real bpy: decoded videos, captions, determinism, failure isolation."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simian.combine.combiner import CombinerOptions, combination_for, combine
from simian.recipe.vocabulary import CAMERA_MOVES
from simian.render.render_settings import RenderSettings

from .conftest import REPO, SIMIAN, TINY, decode_frames, run_simian
from .services import descendants

pytestmark = pytest.mark.blender


def _sidecar(out: Path, index: int) -> dict:
    return json.loads((out / f"{index:08d}.json").read_text())


def _leftovers(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_render_index_acceptance(tmp_path):
    out = tmp_path / "OUT"
    result = run_simian(
        "render",
        "--index",
        "0",
        "--seed",
        "7",
        "--width",
        "160",
        "--height",
        "96",
        "--frames",
        "12",
        "--samples",
        "4",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    frames = decode_frames(out / "00000000.mp4")
    assert len(frames) == 12
    assert frames[0].shape == (96, 160, 3)
    for frame in frames:
        assert frame.std() > 3, "frame is blank"
    meta = _sidecar(out, 0)
    recipe = combination_for(7, 0, clip=RenderSettings(width=160, height=96, frames=12).clip())  # as rendered
    assert meta["combination"] == recipe.model_dump(mode="json")
    assert meta["caption"] == recipe.caption
    for obj in recipe.objects:
        assert obj.name in meta["caption"]
    assert meta["sha256"] == hashlib.sha256((out / "00000000.mp4").read_bytes()).hexdigest()
    assert meta["settings"]["width"] == 160 and meta["settings"]["frames"] == 12
    assert meta["render_seconds"] > 0 and meta["renderer_version"]
    assert _leftovers(out) == []


def _blocks(frame: np.ndarray, size: int = 8) -> np.ndarray:
    """Mean colour of size x size blocks: keeps structure, averages away per-frame sampling noise."""
    h, w = frame.shape[0] // size * size, frame.shape[1] // size * size
    return frame[:h, :w].astype(float).reshape(h // size, size, w // size, size, 3).mean(axis=(1, 3))


def _motion(frames: list[np.ndarray]) -> float:
    return float(np.abs(_blocks(frames[0]) - _blocks(frames[-1])).mean())


def test_range_is_one_warm_process_with_visible_motion(tmp_path):
    out = tmp_path / "out"
    source = tmp_path / "combinations.json"
    data = combine(21, 4, CombinerOptions(max_objects=2))
    # Pin the camera moves so both cases are covered: two moving cameras, one still scene.
    moves = ["orbit_left", "dolly_in", "static", "crane_up"]
    for entry, move in zip(data["combinations"], moves, strict=True):
        entry["animation"] = {"name": move, "speed_factor": 2.0}
        entry["caption"] = entry["captions"] = None
        for obj in entry["objects"]:
            obj["movement"] = None
    source.write_text(json.dumps(data))
    result = run_simian("render", "--range", "0:4", "--combinations", str(source), *TINY, "-o", str(out))
    assert result.returncode == 0, result.stderr
    pids = set()
    for index, move in enumerate(moves):
        frames = decode_frames(out / f"{index:08d}.mp4")
        assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
        meta = _sidecar(out, index)
        pids.add(meta["render_pid"])
        assert CAMERA_MOVES[move].phrase in meta["caption"]
        if move == "static":
            assert _motion(frames) < 2.0
        else:
            assert _motion(frames) > 2.0, f"{move} shows no motion"
    assert len(pids) == 1, "a range must render in one warm Blender process"


def test_object_movement_is_visible(tmp_path):
    out = tmp_path / "out"
    source = tmp_path / "combinations.json"
    data = combine(4, 1, CombinerOptions(max_objects=1, movement=True))
    entry = data["combinations"][0]
    entry["animation"] = {"name": "static", "speed_factor": 1.0}
    entry["objects"][0]["movement"] = {"direction": "left", "speed": 2.0}
    entry["caption"] = entry["captions"] = None
    source.write_text(json.dumps(data))
    result = run_simian("render", "--index", "0", "--combinations", str(source), *TINY, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _motion(decode_frames(out / "00000000.mp4")) > 1.0
    assert "moves to the left at 2.00 meters per second" in _sidecar(out, 0)["caption"]


def test_same_inputs_give_same_video(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = run_simian("render", "--index", "3", "--seed", "5", *TINY, "-o", str(out))
        assert result.returncode == 0, result.stderr
        runs.append((decode_frames(out / "00000003.mp4"), _sidecar(out, 3)))
    (frames_a, meta_a), (frames_b, meta_b) = runs
    assert meta_a["caption"] == meta_b["caption"]
    assert meta_a["combination"] == meta_b["combination"]
    for fa, fb in zip(frames_a, frames_b, strict=True):
        assert np.abs(fa.astype(float) - fb.astype(float)).mean() < 1.0  # < 1/255 on a 0..1 scale


def test_images_mode_writes_png_frames(tmp_path):
    out = tmp_path / "out"
    result = run_simian("render", "--index", "1", "--seed", "5", *TINY, "--images", "-o", str(out))
    assert result.returncode == 0, result.stderr
    pngs = sorted((out / "00000001").glob("frame_*.png"))
    assert len(pngs) == 6
    import av

    with av.open(str(pngs[0])) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (64, 48)
    assert _sidecar(out, 1)["file_name"] == "00000001"


def _is_blender_child(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_broken_and_hanging_combinations_fail_alone(tmp_path):
    """A corrupt model file fails its combination; a Blender that stops answering (SIGSTOP while it renders
    combination 3: a real hang) is killed at the timeout and a fresh one renders the rest."""
    corrupt = tmp_path / "corrupt.glb"
    corrupt.write_bytes(b"glTF\x02\x00\x00\x00" + os.urandom(200))
    data = combine(8, 5, CombinerOptions(max_objects=1))
    data["combinations"][1]["objects"][0]["asset"] = f"file:{corrupt}"
    source = tmp_path / "combinations.json"
    source.write_text(json.dumps(data))
    out = tmp_path / "out"
    argv = [*SIMIAN, "render", "--range", "0:5", "--combinations", str(source), *TINY, "--timeout", "6", "-o", str(out)]
    process = subprocess.Popen(argv, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines, stopped = [], []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if "[3/5]" in line and not stopped:  # combination 2 is done: stop Blender before or while it renders 3
            stopped = [pid for pid in descendants(process.pid) if _is_blender_child(pid)]
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
    assert process.wait(timeout=120) == 1
    stderr = "".join(lines)
    assert stopped, f"no Blender child found to stop: {stderr}"
    for index in (0, 2, 4):
        assert len(decode_frames(out / f"{index:08d}.mp4")) == 6
    for index in (1, 3):
        assert not (out / f"{index:08d}.mp4").exists() and not (out / f"{index:08d}.json").exists()
    assert "combination 1:" in stderr and "corrupt.glb" in stderr
    assert "combination 3: no result after 6 s" in stderr, stderr
    assert "3 rendered, 2 failed" in stderr
    assert _leftovers(out) == []
    assert not [pid for pid in stopped if Path(f"/proc/{pid}").exists()], "the stopped Blender was killed"


def test_another_engine_renders_from_the_command_line(tmp_path):
    """Workbench here; EEVEE's video is asserted where its passes are (test_passes), one EEVEE start for both."""
    engine = "workbench"
    out = tmp_path / "out"
    result = run_simian(
        "render",
        "--index",
        "2",
        "--seed",
        "5",
        "--width",
        "64",
        "--height",
        "48",
        "--frames",
        "2",
        "--samples",
        "2",
        "--engine",
        engine,
        "-o",
        str(out),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    frames = decode_frames(out / "00000002.mp4")
    assert len(frames) == 2 and frames[0].std() > 3
    assert _sidecar(out, 2)["settings"]["engine"] == engine


def test_a_process_that_imported_bpy_itself_still_renders_in_a_child(tmp_path):
    """The spawned Blender child inherits its parent's sys.path; after the parent imported bpy that holds
    Blender's script folders, where `import bpy` finds the wrong package (as in a pytest run that collected
    bpy-importing tests first)."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "if __name__ == '__main__':\n"
        "    import bpy  # noqa: F401\n"
        "    from simian.combine.combiner import combination_for\n"
        "    from simian.render import Renderer, RenderSettings\n"
        "    with Renderer(cache_dir=Path(sys.argv[1])) as renderer:\n"
        "        result = renderer.render(combination_for(2, 0), RenderSettings(width=64, height=48, frames=3,\n"
        "                                 samples=1), Path(sys.argv[1]))\n"
        "    print(result.media)\n"
    )
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(decode_frames(Path(run.stdout.strip()))) == 3


def test_a_range_shows_progress_with_rate_and_time_left(tmp_path):
    """On a terminal a bar (count, percentage, time left) with the log lines above it; elsewhere each line carries
    the count, the rate and the time left."""
    import pty

    args = ["render", "--range", "0:2", "--seed", "2", *TINY]
    plain = run_simian(*args, "-o", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    assert re.search(
        r"\[1/2\] .* 1 of 2 videos done, [\d.]+ a minute, about \d+ s left \(finish \d\d:\d\d UTC\)", plain.stderr
    )
    assert re.search(r"\[2/2\] .* 2 of 2 videos done, [\d.]+ a minute, in \d+ s", plain.stderr), plain.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "simian.cli", *args, "-o", str(tmp_path / "tty")],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=os.environ.copy(),
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=120) == 0
    text = shown.decode(errors="replace")
    assert "rendering" in text and "2/2" in text and "100%" in text, text[-2000:]
    assert "2 rendered, 0 failed" in text


@pytest.mark.parametrize("device", ["CPU", "OPTIX"])
def test_cycles_renders_with_the_settings_measured_at_equal_quality(tmp_path: Path, device: str):
    """The denoiser's FAST model, no caustics, no light tree, and on a GPU the denoiser on the GPU (bench/RESULTS.md
    section 10); the scene is built in this process the way the render child builds it."""
    import bpy

    from simian.render.blender.scene import build_scene, tune_cycles

    settings = RenderSettings(width=64, height=48, frames=2, samples=8, device="cpu")
    used = build_scene(combination_for(7, 0, clip=settings.clip()), settings, {}, tmp_path / "x.mp4", [])
    assert used == "CPU"
    scene = bpy.context.scene
    if device != "CPU":
        tune_cycles(scene, device)  # what build_scene does on a GPU (none on the test machine)
    cycles = scene.cycles
    assert cycles.use_denoising and cycles.denoiser == "OPENIMAGEDENOISE"
    assert (cycles.denoising_quality, cycles.denoising_input_passes) == ("FAST", "RGB_ALBEDO_NORMAL")
    assert not cycles.caustics_reflective and not cycles.caustics_refractive and not cycles.use_light_tree
    assert scene.render.compositor_denoise_final_quality == "FAST"
    assert cycles.denoising_use_gpu == (device != "CPU")
