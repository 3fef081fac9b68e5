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


#: Test files by how long they hold an xdist worker, longest first (`make test` runs `--dist loadgroup`). Each file
#: is one group, since its module fixtures (a farm stack, a rendered dataset) are costly to build twice; the
#: orchestration file, the longest, is split in two so that two workers share it. The long groups start first,
#: so that no worker is left finishing one alone at the end.
LONGEST_FIRST = ("test_orchestration", "test_dataset_trust", "test_production_topology", "test_passes", "test_variants")
#: The orchestration tests that run on a stack of their own, on the other worker.
ORCHESTRATION_SECOND_HALF = (
    "test_range_publishes_to_the_hub",
    "test_camera_variants_of_a_range",
    "test_range_with_passes_publishes",
)


def _group(item: pytest.Item) -> str:
    module = item.path.stem
    if module == "test_orchestration" and item.name.startswith(ORCHESTRATION_SECOND_HALF):
        return f"{module}-2"
    return module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (rank.get(item.path.stem, len(rank)), _group(item)))


@pytest.fixture
def simian_cli():
    return run_simian
