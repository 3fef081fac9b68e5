"""Shared fixtures: run the real `simian` CLI and decode real videos."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SIMIAN = [sys.executable, "-m", "simian.cli"]
TINY = ["--width", "64", "--height", "48", "--frames", "6", "--samples", "2"]


def run_simian(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would: a fresh process, argv list, no shell."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*SIMIAN, *args], cwd=cwd or REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture
def simian_cli():
    return run_simian


#: The files that take longest (each builds a whole stack or renders much), scheduled first so that with
#: `--dist loadfile` no long file starts last and runs on alone while the other workers are idle.
LONG_FILES = (
    "test_orchestration.py",
    "test_orchestration_hub.py",
    "test_shards.py",
    "test_render_service.py",
    "test_dataset_trust.py",
    "test_production_topology.py",
    "test_hostile_input.py",
    "test_render.py",
    "test_passes.py",
    "test_locking.py",
    "test_caption_check.py",
    "test_hostile_network.py",
    "test_contact_sheet.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first, the rest in their usual order (a stable sort: the same order on every worker)."""
    rank = {name: position for position, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))
