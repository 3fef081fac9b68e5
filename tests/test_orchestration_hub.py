"""Range runs publishing to the Hub test double: few commits, secrets kept, passes, Parquet shards."""

from __future__ import annotations

import hashlib
import json

import httpx
import numpy as np
import pytest

from simian.combine.combiner import combination_for
from simian.render.pass_arrays import load

from .conftest import decode_frames
from .services import Stack, start_stack
from .test_orchestration import TINY, TINY_CLIP, _children

pytestmark = [pytest.mark.services, pytest.mark.blender]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    services = start_stack(tmp_path_factory.mktemp("stack"), render_slots=3)
    yield services
    services.stop()


def test_range_publishes_to_the_hub_in_few_commits_and_keeps_the_token_secret(stack, tmp_path):
    token = "hf_secret_token_for_the_double_42"
    repo = "simian-tests/range"
    with stack.publishing_to(tmp_path / "hub", token, repo) as hub:
        out = tmp_path / "dataset"
        params = ["start=0", "end=6", "seed=4", "chunk_size=3", *TINY, f"output={out}"]
        result, run_id = stack.run_range(*params)
        assert result.returncode == 0, result.stdout[-3000:]
        files = hub.repo_files(repo)
        videos = sorted(p for p in files if p.endswith(".mp4"))
        assert videos == [f"data/0000/{i:08d}.mp4" for i in range(6)]
        rows = [json.loads(line) for line in files["metadata.jsonl"].decode().splitlines()]
        assert [r["file_name"] for r in rows] == videos
        for row in rows:
            local = json.loads((out / row["file_name"]).with_suffix(".json").read_text())
            assert hashlib.sha256(files[row["file_name"]]).hexdigest() == local["sha256"] == row["sha256"]
            assert row["caption"] == local["caption"] == combination_for(4, row["index"], clip=TINY_CLIP).caption
        assert files["README.md"].startswith(b"---\n") and b"\nlicense: mit\n" in files["README.md"]
        assert b"![Shot sizes](charts/shot_sizes.svg)" in files["README.md"]
        assert files["charts/shot_sizes.svg"].startswith(b"<?xml"), "the charts are in the finaliser's commit"
        commits = len(hub.commits)
        assert commits <= 4, f"the identity record, 2 chunk commits and 1 finaliser commit expected, got {commits}"

        result, rerun_id = stack.run_range(*params)
        assert result.returncode == 0
        assert len(hub.commits) == commits, "a second run must make no commit"

        leaks = _token_leaks(stack, token, [run_id, rerun_id])
        assert leaks == [], leaks


def test_range_with_passes_publishes_them_beside_the_videos_locally_and_to_the_hub(stack, tmp_path):
    """`prefect deployment run simian/render-range -p start=0 -p end=4 -p passes='["depth"]'`: the depth files and
    camera files lie beside the videos, metadata.jsonl references them, the Hub holds the same files."""
    token = "hf_secret_token_for_the_double_43"
    repo = "simian-tests/passes"
    with stack.publishing_to(tmp_path / "hub", token, repo) as hub:
        out = tmp_path / "dataset"
        params = ["start=0", "end=4", 'passes=["depth"]', "seed=2", "chunk_size=2", *TINY, f"output={out}"]
        result, _ = stack.run_range(*params)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
        assert [r["index"] for r in rows] == [0, 1, 2, 3]
        files = hub.repo_files(repo)
        hub_rows = [json.loads(line) for line in files["metadata.jsonl"].decode().splitlines()]
        assert hub_rows == rows, "the control host writes the rows the render machines wrote"
        for row in rows:
            stem = row["file_name"].removesuffix(".mp4")
            assert row["passes"] == {
                "depth": f"{stem}.depth.npz",
                "normal": None,
                "segmentation": None,
                "flow": None,
            }
            assert row["camera_file"] == f"{stem}.camera.txt"
            assert len(row["camera"]["camera_to_world"]) == 6 and row["settings"]["passes"] == ["depth"]
            depth = load(out / row["passes"]["depth"], "depth")
            assert depth.shape == (6, 48, 64) and np.isfinite(depth).any()
            assert len(decode_frames(out / row["file_name"])) == depth.shape[0]
            for path in (row["passes"]["depth"], row["camera_file"]):
                assert files[path] == (out / path).read_bytes(), f"{path} is published with its video"
        card = files["README.md"].decode()
        assert "## Ground truth" in card and "`depth` (4 videos)" in card and "OpenCV" in card
        commits = len(hub.commits)
        result, _ = stack.run_range(*params)
        assert result.returncode == 0
        assert len(hub.commits) == commits, "a second run makes no commit: camera files are recognised too"


def test_range_publishes_parquet_shards_that_stream_back_merge_across_ranges_and_rerun_without_commits(stack, tmp_path):
    """`-p hf_layout=parquet -p hf_shard_size=2`: the chunks commit shards on the grid (no file per video, no
    metadata.jsonl), `datasets` streams every caption column back, a second range into a shard already there merges
    without duplicates and a re-run makes no commit."""
    from simian.dataset.columns import PARQUET_COLUMNS
    from simian.dataset.shards import read_records

    from .synthetic import stream

    token = "hf_secret_token_for_the_double_44"
    repo = "simian-tests/shards"
    with stack.publishing_to(tmp_path / "hub", token, repo) as hub:
        out = tmp_path / "dataset"
        common = ["seed=6", "hf_layout=parquet", "hf_shard_size=2", *TINY, f"output={out}"]
        result, run_id = stack.run_range("start=0", "end=3", "chunk_size=2", *common)
        assert result.returncode == 0, stack.run_report(run_id)
        files = hub.repo_files(repo)
        assert sorted(p for p in files if p.startswith("data/")) == [
            "data/0000/000000.parquet",
            "data/0000/000001.parquet",
        ]
        assert not any(p.endswith((".mp4", ".jsonl")) for p in files)
        card = files["README.md"].decode()
        assert "**Layout:** `parquet`" in card and "path: data/*/*.parquet" in card and "Videos:** 3 " in card
        commits = len(hub.commits)
        assert commits <= 4, f"the identity record, 2 chunk commits and 1 finaliser commit expected, got {commits}"

        result, _ = stack.run_range("start=0", "end=3", "chunk_size=2", *common)
        assert result.returncode == 0
        assert len(hub.commits) == commits, "a second run makes no commit"

        result, run_id = stack.run_range("start=3", "end=4", *common)
        assert result.returncode == 0, stack.run_report(run_id)
        shard = read_records(hub.repo_files(repo)["data/0000/000001.parquet"])
        assert [r["file_name"] for r in shard] == ["00000002.mp4", "00000003.mp4"], "merged, no duplicates"

        loaded = stream(hub, repo, tmp_path)
        assert [r["index"] for r in loaded["rows"]] == [0, 1, 2, 3]
        assert set(loaded["rows"][0]) == set(PARQUET_COLUMNS) - {"video"} | {"video_sha256", "video_path"}
        for row in loaded["rows"]:
            sidecar = json.loads((out / f"data/0000/{row['index']:08d}.json").read_text())
            assert row["video_sha256"] == sidecar["sha256"]
            assert row["caption"] == sidecar["caption"] == combination_for(6, row["index"], clip=TINY_CLIP).caption
            assert row["caption_short"] == sidecar["caption_short"] and row["captions"] == sidecar["captions"]
        aggregate = json.loads(hub.repo_files(repo)["stats/dataset.json"])
        assert (aggregate["videos"], aggregate["shards"]) == (4, 2)


def _token_leaks(stack: Stack, token: str, run_ids: list[str]) -> list[str]:
    """Every place a token could leak: worker and server logs, run parameters, artifacts, API responses."""
    leaks = [str(p) for p in (stack.root / "state" / "logs").glob("*.log") if token in p.read_text(errors="replace")]
    api = stack.env["PREFECT_API_URL"]
    for run_id in run_ids:
        ids = [run_id, *[str(c.id) for c in _children(stack, run_id)]]
        for flow_run_id in ids:
            body = httpx.get(f"{api}/flow_runs/{flow_run_id}").text
            if token in body:
                leaks.append(f"flow run {flow_run_id}")
            logs = httpx.post(f"{api}/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run_id]}}}).text
            if token in logs:
                leaks.append(f"logs of {flow_run_id}")
            tasks = httpx.post(f"{api}/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}}).text
            if token in tasks:
                leaks.append(f"task runs of {flow_run_id}")
    if token in httpx.post(f"{api}/artifacts/filter", json={}).text:
        leaks.append("artifacts")
    if token in httpx.post(f"{api}/block_documents/filter", json={"include_secrets": False}).text:
        leaks.append("block documents")
    return leaks
