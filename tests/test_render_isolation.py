"""Renders never share a scratch file: two renders of one index for different datasets at once each publish
their own video. And the cache key follows the code that decides pixels."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from simian.combine.combiner import combination_for
from simian.dataset import FolderSink
from simian.render import Renderer, RenderSettings, fingerprint

from .conftest import decode_frames

pytestmark = pytest.mark.blender


def test_one_index_rendered_for_two_datasets_at_once_keeps_each_its_own(tmp_path):
    combination = combination_for(3, 0)
    jobs = {
        "a": (FolderSink(tmp_path / "a"), RenderSettings(width=64, height=48, frames=4, samples=1)),
        "b": (FolderSink(tmp_path / "b"), RenderSettings(width=80, height=48, frames=6, samples=1)),
    }
    errors: list[BaseException] = []
    started = threading.Barrier(2)

    def render(sink: FolderSink, settings: RenderSettings) -> None:
        try:
            with Renderer(cache_dir=tmp_path / "cache") as renderer, sink.scratch() as scratch:
                started.wait(timeout=60)
                sink.publish(combination, settings, renderer.render(combination, settings, scratch))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=job) for job in jobs.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    for name, (sink, settings) in jobs.items():
        frames = decode_frames(sink.root / "data/0000/00000000.mp4")
        assert len(frames) == settings.frames and frames[0].shape[:2] == (settings.height, settings.width), name
        sidecar = json.loads((sink.root / "data/0000/00000000.json").read_text())
        assert sidecar["settings"]["width"] == settings.width, name
        assert not (sink.root / ".simian-scratch").exists(), "each render's scratch is removed"


def test_the_fingerprint_follows_the_code_that_decides_pixels(tmp_path, monkeypatch):
    package = Path(fingerprint.__file__).resolve().parents[1]
    files = fingerprint.pixel_source_files()
    assert set((package / "render" / "blender").rglob("*.py")) <= set(files)
    assert set((package / "scene").rglob("*.py")) <= set(files)
    assert package / "recipe" / "vocabulary.py" in files
    copy = tmp_path / "simian"
    for path in files:
        target = copy / path.relative_to(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    monkeypatch.setattr(fingerprint, "_PACKAGE", copy)
    fingerprint.renderer_fingerprint.cache_clear()
    before = fingerprint.renderer_fingerprint()
    assert before.startswith(f"blender-{fingerprint.blender_version()}+")
    floors = copy / "render" / "blender" / "builtin_floors.py"
    floors.write_text(floors.read_text() + "\n# a change that may change pixels\n")
    fingerprint.renderer_fingerprint.cache_clear()
    assert fingerprint.renderer_fingerprint() != before
    fingerprint.renderer_fingerprint.cache_clear()
