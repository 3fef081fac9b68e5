"""The Blender child's lifetime with real bpy: it dies with its parent, an abort stops it, partials are swept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simian.combine.combiner import combination_for
from simian.render import RenderAbortedError, Renderer, parse_render_settings

from .conftest import REPO, decode_frames
from .services import wait_for

pytestmark = pytest.mark.blender

TINY = parse_render_settings(width=64, height=48, frames=6, samples=2, device="cpu")
# Long enough (about 10-20 s on a small CPU) to be caught mid-render.
SLOW = parse_render_settings(width=160, height=96, frames=48, samples=16, device="cpu")

PARENT = """
import sys
from pathlib import Path
from simian.combine.combiner import combination_for
from simian.render import Renderer, parse_render_settings

if __name__ == "__main__":
    settings = parse_render_settings(width=160, height=96, frames=48, samples=16, device="cpu")
    with Renderer(events_path=Path(sys.argv[1])) as renderer:
        renderer.render(combination_for(2, 0), settings, Path(sys.argv[2]))
"""


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_blender_dies_within_two_seconds_of_a_kill_9_of_its_parent_and_its_partial_is_swept(tmp_path):
    log, scratch = tmp_path / "events.jsonl", tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "parent.py").write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py"), str(log), str(scratch)], cwd=REPO)
    blender = None
    try:
        started = wait_for(lambda: [e for e in events(log) if e["event"] == "started"], 120, "the render to start")
        blender = started[0]["pid"]
        wait_for(lambda: list(scratch.glob(".*partial*")), 30, "Blender to open its partial video")
        os.kill(parent.pid, signal.SIGKILL)
        killed = time.monotonic()
        parent.wait(timeout=10)
        while alive(blender) and time.monotonic() - killed < 10:
            time.sleep(0.05)
        gone_after = time.monotonic() - killed
        survived = alive(blender)
    finally:
        if parent.poll() is None:
            parent.kill()
        if blender is not None and alive(blender):
            os.kill(blender, signal.SIGKILL)  # only when the test fails: leave nothing rendering
    assert not survived, "Blender outlived its parent"
    assert gone_after < 2.0, f"Blender lived {gone_after:.2f} s after its parent was killed"
    assert not [e for e in events(log) if e["event"] == "rendered"], "the render was cut short"
    left = list(scratch.glob(".*partial*"))
    assert left, "the killed render leaves its partial video (swept by the next renderer)"

    with Renderer(events_path=log) as renderer:
        result = renderer.render(combination_for(2, 1), TINY, scratch)
    stale = [p for p in scratch.iterdir() if p.name.startswith(".") and p != result.media]
    assert not stale, "stale partials swept (only the new render, not yet published, is there)"
    assert len(decode_frames(result.media)) == 6


def test_abort_kills_the_render_in_progress_and_the_next_render_starts_fresh(tmp_path):
    log = tmp_path / "events.jsonl"
    with Renderer(events_path=log) as renderer:

        def abort_when_started() -> None:
            wait_for(lambda: [e for e in events(log) if e["event"] == "started"], 120, "the render to start")
            renderer.abort("the render lock was lost")

        aborter = threading.Thread(target=abort_when_started)
        aborter.start()
        began = time.monotonic()
        with pytest.raises(RenderAbortedError, match="the render lock was lost") as err:
            renderer.render(combination_for(2, 0), SLOW, tmp_path)
        aborter.join()
        assert err.value.transient
        first = events(log)[0]["pid"]
        assert not alive(first)
        assert time.monotonic() - began < 60
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "the aborted partial is removed"

        renderer.abort("arrives before the next render starts")
        with pytest.raises(RenderAbortedError, match="not started"):
            renderer.render(combination_for(2, 1), TINY, tmp_path)
        result = renderer.render(combination_for(2, 1), TINY, tmp_path)
    assert len(decode_frames(result.media)) == 6
    rendered = [e for e in events(log) if e["event"] == "rendered"]
    assert [e["index"] for e in rendered] == [1], "one completed render: the aborted one never finished"
    assert rendered[0]["pid"] != first
