"""A dataset can be trusted unattended: its identity is recorded and defended, outputs stay where they belong,
a flushed cache never re-renders a finished dataset, and the run's final state tells the truth."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from datasets import Video, load_dataset

from simian.combine.combiner import combination_for
from simian.render.render_settings import RenderSettings

from .conftest import REPO
from .services import Stack, start_stack, wait_for
from .test_orchestration import _children, _client

pytestmark = [pytest.mark.services, pytest.mark.blender]

TINY = ["width=64", "height=48", "frames=6", "samples=2"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    services = start_stack(tmp_path_factory.mktemp("stack"), render_slots=3)
    yield services
    services.stop()


def _summary(stack: Stack, run_id: str) -> dict[str, object]:
    with _client(stack) as client:
        artifacts = client.read_artifacts()
    tables = [a for a in artifacts if a.type == "table" and (a.key or "").startswith("simian-range-")]
    table = next(a for a in tables if (a.key or "").endswith(run_id[:8]))
    return {row["what"]: row["value"] for row in json.loads(table.data)}


def _state(stack: Stack, run_id: str):  # type: ignore[no-untyped-def]
    with _client(stack) as client:
        return client.read_flow_run(UUID(run_id)).state


def _checksums(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.mp4"))}


def test_another_seed_is_refused_and_a_named_config_keeps_both(stack, tmp_path):
    out = tmp_path / "dataset"
    result, _ = stack.run_range("start=0", "end=2", "seed=1", *TINY, f"output={out}")
    assert result.returncode == 0, result.stdout[-3000:]
    before = _checksums(out)
    assert len(before) == 2

    result, refused_id = stack.run_range("start=0", "end=2", "seed=2", *TINY, f"output={out}", timeout=120)
    assert result.returncode != 0
    state = _state(stack, refused_id)
    assert state.is_failed()
    assert "recipes.seed: the dataset has 1, this run 2" in (state.message or ""), state.message
    assert "config=NAME" in (state.message or "")
    assert _children(stack, refused_id) == [], "nothing was submitted"
    assert _checksums(out) == before, "no video of seed 1 was touched"

    result, _ = stack.run_range("start=0", "end=2", "seed=2", *TINY, f"output={out}", "config=seed-two")
    assert result.returncode == 0, result.stdout[-3000:]
    assert {k: v for k, v in _checksums(out).items() if not k.startswith("seed-two/")} == before
    assert sorted(p for p in _checksums(out) if p.startswith("seed-two/")) == [
        f"seed-two/data/0000/{i:08d}.mp4" for i in range(2)
    ]
    card = (out / "README.md").read_text()
    assert "config_name: default" in card and "config_name: seed-two" in card
    for config, seed in (("default", 1), ("seed-two", 2)):
        # A cache of this test's own: `datasets` keys its cache by path and config, so another run's dataset at the
        # same temporary path would be served instead.
        rows = load_dataset(str(out), name=config, split="train", cache_dir=str(tmp_path / "hf-datasets"))
        rows = rows.cast_column("video", Video(decode=False))
        clip = RenderSettings(width=64, height=48, frames=6, samples=2).clip()  # TINY's: recipes are planned for it
        assert sorted(rows["caption"]) == sorted(combination_for(seed, i, clip=clip).caption for i in range(2)), config

    result, rerun_id = stack.run_range("start=0", "end=2", "seed=1", *TINY, f"output={out}")
    assert result.returncode == 0
    assert _summary(stack, rerun_id)["rendered"] == 0
    assert {k: v for k, v in _checksums(out).items() if not k.startswith("seed-two/")} == before


def test_outputs_are_confined(stack, tmp_path):
    readme = (REPO / "README.md").read_bytes()
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.md").write_text("my notes\n")
    refused = (
        (str(REPO), "project folder"),
        (str(REPO.parent), "project folder"),
        ("/etc", "system folder"),
        (".", "not below the output root"),
        ("/var/tmp/simian-elsewhere", "not below the output root"),
        (str(folder), "not a Simian dataset"),
    )
    # The runs are independent (the control pool has no limit), so they are submitted together.
    with ThreadPoolExecutor(max_workers=len(refused)) as pool:
        runs = list(
            pool.map(lambda case: stack.run_range("start=0", "end=1", *TINY, f"output={case[0]}", timeout=180), refused)
        )
    for (output, needle), (result, run_id) in zip(refused, runs, strict=True):
        assert result.returncode != 0
        state = _state(stack, run_id)
        assert state.is_failed() and needle in (state.message or ""), (output, state.message)
        assert _children(stack, run_id) == []
    assert (REPO / "README.md").read_bytes() == readme
    assert not Path("/var/tmp/simian-elsewhere").exists()
    assert (folder / "README.md").read_text() == "my notes\n"


@pytest.mark.slow  # three minutes: a fault (Redis flushed under a finished dataset) and its repair
@pytest.mark.faults
def test_a_flushed_cache_adopts_the_finished_dataset(stack, tmp_path):
    out = tmp_path / "dataset"
    params = ["start=0", "end=3", "seed=5", *TINY, f"output={out}"]
    result, _ = stack.run_range(*params)
    assert result.returncode == 0, result.stdout[-3000:]
    videos = sorted(out.glob("data/*/*.mp4"))
    stamps = {p: p.stat().st_mtime_ns for p in [*videos, *out.glob("data/*/*.json")]}

    stack.redis().flushall()  # a flushed or replaced Redis: the user runs `simian init` again (README, failure model)
    assert stack.simian("init", "--render-slots", "3", "--commits-per-hour", "3600").returncode == 0
    result, dry_id = stack.run_range(*params, "dry_run=true")
    assert result.returncode == 0
    dry = _summary(stack, dry_id)
    assert dry["would render (dry run)"] == 0 and dry["cached (not rendered again)"] == 3
    assert dry["of which adopted from the dataset"] == 3

    result, run_id = stack.run_range(*params)
    assert result.returncode == 0, result.stdout[-3000:]
    summary = _summary(stack, run_id)
    assert summary["rendered"] == 0 and summary["of which adopted from the dataset"] == 3
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps, "nothing was rendered or rewritten"

    result, cached_id = stack.run_range(*params)
    assert _summary(stack, cached_id)["cached (not rendered again)"] == 3
    assert _summary(stack, cached_id)["of which adopted from the dataset"] == 0, "the adoption was cached in Redis"

    videos[1].write_bytes(b"damaged")
    stack.redis().flushall()
    assert stack.simian("init", "--render-slots", "3", "--commits-per-hour", "3600").returncode == 0
    result, repaired_id = stack.run_range(*params)
    assert result.returncode == 0
    assert _summary(stack, repaired_id)["rendered"] == 1, "a video whose bytes no longer match is rendered again"


@pytest.mark.slow  # a fault: the Hub goes away in the middle of a range
@pytest.mark.faults
def test_a_hub_outage_fails_the_run_and_the_metadata_lists_only_what_is_there(stack, tmp_path):
    token = "hf_outage_token_for_the_double_77"
    repo = "simian-tests/outage"
    with stack.publishing_to(tmp_path / "hub", token, repo) as hub:
        out = tmp_path / "dataset"
        hub.fail_next(503, count=1, path_contains="/commit/")  # the identity record's commit is retried
        watcher = stack.prefect(
            *stack.range_args("start=0", "end=6", "seed=6", "chunk_size=3", *TINY, f"output={out}"), timeout=60
        )
        run_id = watcher.stdout.split("UUID:")[1].split()[0]
        # the identity record and the first chunk's videos land; then the Hub refuses video uploads until
        # the second chunk has used its three attempts; it is back for the finaliser
        wait_for(lambda: len(hub.commits) >= 2, 300, "the first chunk's commit")
        hub.fail_next(400, count=3, path_contains="/objects/batch")
        state = wait_for(lambda: (s := _state(stack, run_id)) and s.is_final() and s, 600, "the range run")
        assert state.is_failed(), state
        assert "not published" in (state.message or ""), state.message
        summary = _summary(stack, run_id)
        assert summary["published to the Hub"] == 3 and summary["not published"] == "3, 4, 5"
        assert summary["failed"] == 0 and "3-6" in str(summary["chunks not completed"])
        files = hub.repo_files(repo)
        rows = [json.loads(line) for line in files["metadata.jsonl"].decode().splitlines()]
        assert [r["file_name"] for r in rows] == [f"data/0000/{i:08d}.mp4" for i in range(3)]
        for row in rows:
            assert hashlib.sha256(files[row["file_name"]]).hexdigest() == row["sha256"]
        logs = httpx.post(
            f"{stack.env['PREFECT_API_URL']}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}}
        ).json()
        assert any("retry 1 of" in log["message"] and "HTTP 503" in log["message"] for log in logs), (
            "retry warnings show in the run's logs"
        )
