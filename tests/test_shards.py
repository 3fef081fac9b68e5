"""The Parquet layout on the Hub double: shards on the grid, merged across ranges, streamed back with `datasets`,
and the layout of a million clips against the Hub's limits (scaled down)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from simian.dataset.columns import PARQUET_COLUMNS, TRUTH_COLUMNS
from simian.dataset.hub import HubPublisher
from simian.dataset.shard_hub import finalise_texts, local_shard_rows, publish_shards
from simian.dataset.shards import DATA_SCHEMA, TRUTH_SCHEMA, ShardGrid, read_records
from simian.settings import Settings

from .doubles.hub import HubTestDouble, client_xet_disabled
from .synthetic import stream

TOKEN = "hf_test_double_token_shards_0123"
REPO = "simian-tests/shards"


@pytest.fixture
def hub(tmp_path):
    with HubTestDouble(tmp_path / "hub", token=TOKEN) as double, client_xet_disabled():
        yield double


def _publisher(hub: HubTestDouble) -> HubPublisher:
    publisher = HubPublisher(Settings(hf_endpoint=hub.url, hf_token=TOKEN), REPO, backoff_s=0.05)
    publisher.ensure_repo()
    return publisher


def _publish_range(publisher: HubPublisher, root: Path, grid: ShardGrid, names: list[str], tmp: Path) -> int:
    """What a range does in this layout: its chunk's shards, then the finaliser's commit."""
    committed = publish_shards(
        publisher, "default", grid, local_shard_rows(root, grid, names), tmp, "Add shards", batch_size=100
    )
    indices = [int(Path(n).stem[:8]) for n in names]
    published = {Path(n).name: json.loads((root / n).with_suffix(".json").read_text())["sha256"] for n in names}
    texts, confirmed = finalise_texts(
        publisher, "default", ["default"], grid, grid.shards(min(indices), max(indices) + 1), published
    )
    assert confirmed == set(published), "every video of the range is in its shard with its checksum"
    publisher.commit_texts(texts, "counts and card", parent_commit=publisher.head())
    return committed


@pytest.mark.blender
def test_two_ranges_share_a_shard_without_duplicates_and_stream_back_with_every_caption_column(hub, tmp_path):
    from simian.combine.combiner import combination_for
    from simian.dataset import FolderSink
    from simian.recipe.assets import AssetResolver
    from simian.render import Renderer, RenderSettings

    root, grid = tmp_path / "dataset", ShardGrid(size=4)
    settings = RenderSettings(width=64, height=48, frames=6, samples=2, passes=("depth",))
    resolver = AssetResolver(Settings(simian_cache_dir=tmp_path / "cache"))
    sink, names = FolderSink(root), {}
    with Renderer() as renderer, sink.scratch() as scratch:
        for index in (0, 1, 2, 5):
            combination = combination_for(5, index)
            result = renderer.render(combination, settings, scratch)
            names[index] = sink.publish(
                combination, settings, result, licenses=resolver.licenses(combination)
            ).file_name
    publisher = _publisher(hub)

    assert _publish_range(publisher, root, grid, [names[0], names[1]], tmp_path / "a") == 3  # data, truth, stats
    commits = len(hub.commits)
    assert _publish_range(publisher, root, grid, [names[2], names[5]], tmp_path / "b") == 6  # shard 0 merged, 1
    files = hub.repo_files(REPO)
    shard0 = read_records(files["data/0000/000000.parquet"])
    assert [r["file_name"] for r in shard0] == ["00000000.mp4", "00000001.mp4", "00000002.mp4"]
    assert [r["file_name"] for r in read_records(files["data/0000/000001.parquet"])] == ["00000005.mp4"]
    assert not any(p.endswith((".mp4", "metadata.jsonl")) for p in files), "no file per video, no whole index"
    aggregate = json.loads(files["stats/dataset.json"])
    assert (aggregate["videos"], aggregate["shards"], aggregate["index_min"], aggregate["index_max"]) == (4, 2, 0, 5)
    card = files["README.md"].decode()
    assert "**Layout:** `parquet`" in card and "path: data/*/*.parquet" in card and "streaming=True" in card
    assert "Videos:** 4 " in card and "| `mit` |" in card

    head = len(hub.commits)
    assert _publish_range(publisher, root, grid, [names[2], names[5]], tmp_path / "c") == 0
    assert len(hub.commits) == head, "a re-run commits nothing: neither shards nor counts nor card"
    assert head == commits + 3, "shards 0 and 1 of the second range, each merged on the head it read, and the counts"

    truth = {r["file_name"]: r for r in read_records(files["truth/0000/000000.parquet"])}
    for index in (0, 1, 2):
        sidecar = json.loads((root / names[index]).with_suffix(".json").read_text())
        row = truth[Path(names[index]).name]
        assert row["camera"] == sidecar["camera"] and row["objects"] == sidecar["objects"]
        assert row["depth"] == (root / sidecar["passes"]["depth"]).read_bytes() and row["normal"] is None
        assert row["camera_file"] == (root / sidecar["camera_file"]).read_text()

    loaded = stream(hub, REPO, tmp_path)
    rows = {r["file_name"]: r for r in loaded["rows"]}
    assert len(loaded["rows"]) == 4 and set(loaded["rows"][0]) == set(PARQUET_COLUMNS) - {"video"} | {
        "video_sha256",
        "video_path",
    }
    assert loaded["projected"] == ["file_name", "caption"]
    for index, name in names.items():
        sidecar, recipe = json.loads((root / name).with_suffix(".json").read_text()), combination_for(5, index)
        row = rows[Path(name).name]
        assert row["video_sha256"] == sidecar["sha256"] == hashlib.sha256((root / name).read_bytes()).hexdigest()
        assert row["caption"] == recipe.caption and row["caption_short"] == recipe.caption_short
        assert row["caption_camera"] == recipe.caption_camera and row["captions"] == sidecar["captions"]
        assert json.loads(row["captions_structured"]) == json.loads(sidecar["captions_structured"])
        assert json.loads(row["combination"]) == sidecar["combination"]
        assert row["truth_file"] == grid.truth(grid.shard_of(index)) and row["passes"] == ["depth"]
        assert (row["frames"], row["width"], row["height"]) == (6, 64, 48)
        assert row["object_names"] == [o.name for o in recipe.objects]


def test_the_columns_the_card_and_readme_document_are_the_shards_columns():
    from simian.dataset.columns import table

    assert list(PARQUET_COLUMNS) == DATA_SCHEMA.names
    assert list(TRUTH_COLUMNS) == TRUTH_SCHEMA.names
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert table(PARQUET_COLUMNS) in readme and 'load_dataset("org/name", streaming=True' in readme


#: The Hub's limits and the layout's folders at 1/100: 10,000 clips stand for a million.
SCALE = 100
MILLION = 1_000_000 // SCALE


def test_a_million_clips_fit_the_hubs_limits_in_parquet_shards_and_not_in_a_video_folder(tmp_path):
    """At 1/100 (limits, clips and shards per folder alike), a million clips of the Parquet layout fit the Hub's
    files per repository, entries per folder and files per commit, and stream back; the videofolder layout of the
    same clips is refused."""
    from simian.dataset.hub import HubError, HubFile
    from simian.retry import RetryPolicy

    from .doubles.hub import HubLimits
    from .synthetic import SHA, VIDEO, publish_range

    limits = HubLimits(files_per_repo=100_000 // SCALE, entries_per_folder=10_000 // SCALE, commits_per_hour=10_000)
    grid = ShardGrid(size=256, per_folder=1000 // SCALE)
    with HubTestDouble(tmp_path / "hub", token=TOKEN, limits=limits) as double, client_xet_disabled():
        publisher = _publisher(double)
        for start in range(0, MILLION, 2560):  # ranges of ten chunks, the last one partial
            publish_range(publisher, grid, start, min(MILLION, start + 2560), tmp_path / "shards")
        files = double.repo_files(REPO)
        shards = -(-MILLION // 256)
        assert sum(p.startswith("data/") for p in files) == shards and len(files) <= limits.files_per_repo
        aggregate = json.loads(files["stats/dataset.json"])
        assert (aggregate["videos"], aggregate["shards"], aggregate["index_max"]) == (MILLION, shards, MILLION - 1)
        loaded = stream(double, REPO, tmp_path, 100)
        assert [r["index"] for r in loaded["rows"]] == list(range(100))
        assert all(r["caption"] and r["caption_short"] and r["captions"]["objects"] for r in loaded["rows"])

        publisher = HubPublisher(Settings(hf_endpoint=double.url, hf_token=TOKEN), "simian-tests/folder")
        publisher.retry = RetryPolicy(attempts=1, backoff_s=0.01)
        publisher.ensure_repo()
        (tmp_path / "clip.mp4").write_bytes(VIDEO)
        videofolder = [
            HubFile(f"data/{i // 1000:04d}/{i:08d}{suffix}", tmp_path / "clip.mp4", SHA)
            for i in range(MILLION)
            for suffix in (".mp4", ".camera.txt")
        ]
        with pytest.raises(HubError, match="entries per folder|files per repository"):
            publisher.publish(videofolder, "a video folder", batch_size=100)


def test_two_ranges_merging_into_one_shard_at_the_same_moment_both_land(hub, tmp_path):
    """Ranges [0, 1) and [1, 2) write shard 0 at once: both read the repo before either commits; the second commit
    is refused (it was built on an old head), reads again and merges, so the shard holds both clips."""
    import threading

    from .synthetic import shard_rows

    grid, publisher = ShardGrid(size=4), _publisher(hub)
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def publish_range(start: int) -> None:
        first = [True]

        def meet() -> None:  # both built their shard before either commits
            if first[0]:
                first[0] = False
                barrier.wait()

        try:
            mine = HubPublisher(Settings(hf_endpoint=hub.url, hf_token=TOKEN), REPO, backoff_s=0.05)
            rows = shard_rows(grid, start, start + 1)
            publish_shards(mine, "default", grid, rows, tmp_path / str(start), "range", 100, meet, (start, start + 1))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish_range, args=(start,)) for start in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    shard = read_records(hub.repo_files(REPO)["data/0000/000000.parquet"])
    assert [r["file_name"] for r in shard] == ["00000000.mp4", "00000001.mp4"], "neither range's clip was lost"
    assert publisher.head()


def test_a_repo_keeps_one_layout_and_one_shard_size(hub, tmp_path):
    """A range asking for the other layout, or another shard size, than the repo holds is refused by name before
    anything renders (the check `open_hub` makes)."""
    from simian.dataset.shard_hub import layout_problem

    from .synthetic import publish_range

    publisher = _publisher(hub)
    assert layout_problem(publisher, ["default"], "parquet", 4) is None, "an empty repo takes either"
    publish_range(publisher, ShardGrid(size=4), 0, 4, tmp_path / "shards")
    assert layout_problem(publisher, ["default"], "parquet", 4) is None
    assert "hf_shard_size 4" in (layout_problem(publisher, ["default"], "parquet", 8) or "")
    assert "hf_layout parquet" in (layout_problem(publisher, ["default"], "videofolder", 4) or "")

    hub.add_file("simian-tests/folder", "metadata.jsonl", b'{"file_name": "data/0000/00000000.mp4"}\n')
    folder = HubPublisher(Settings(hf_endpoint=hub.url, hf_token=TOKEN), "simian-tests/folder")
    assert "hf_layout videofolder" in (layout_problem(folder, ["default"], "parquet", 4) or "")
    assert layout_problem(folder, ["default"], "videofolder", 256) is None
