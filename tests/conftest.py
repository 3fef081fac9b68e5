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
