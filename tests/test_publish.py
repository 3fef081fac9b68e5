"""Publishing: the real huggingface_hub client against the Hub test double, and the dataset layout."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from huggingface_hub import snapshot_download

from simian.dataset import METADATA, dump_metadata, finalise_local, merge_metadata
from simian.dataset.hub import HubAuthError, HubFile, HubPublisher
from simian.settings import Settings

from .doubles.hub import HubTestDouble, client_xet_disabled

TOKEN = "hf_test_double_token_0123456789"
REPO = "simian-tests/videos"


@pytest.fixture
def hub(tmp_path):
    with HubTestDouble(tmp_path / "hub", token=TOKEN) as double, client_xet_disabled():
        yield double


def _settings(hub: HubTestDouble, token: str = TOKEN) -> Settings:
    return Settings(hf_endpoint=hub.url, hf_token=token, hf_repo_id=REPO)


def _videos(tmp_path: Path, count: int) -> list[HubFile]:
    files = []
    for index in range(count):
        path = tmp_path / "videos" / f"{index:08d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = b"\x00\x00\x00\x18ftypmp42" + os.urandom(2048)
        path.write_bytes(data)
        files.append(HubFile(f"data/0000/{index:08d}.mp4", path, hashlib.sha256(data).hexdigest()))
    return files


def test_batched_commits_and_idempotent_republish(hub, tmp_path):
    publisher = HubPublisher(_settings(hub), REPO, backoff_s=0.05)
    publisher.ensure_repo()
    files = _videos(tmp_path, 5)
    assert publisher.publish(files, "Add videos", batch_size=2) == 5
    assert len(hub.commits) == 3, "5 files in batches of 2"
    stored = hub.repo_files(REPO)
    for f in files:
        assert hashlib.sha256(stored[f.path_in_repo]).hexdigest() == f.sha256
    assert publisher.publish(files, "Add videos again", batch_size=2) == 0
    assert len(hub.commits) == 3, "publishing the same files again makes no commit"


def test_429_and_500_are_survived(hub, tmp_path):
    publisher = HubPublisher(_settings(hub), REPO, backoff_s=0.05)
    publisher.ensure_repo()
    hub.fail_next(429, count=1, path_contains="/commit/", retry_after=1)
    hub.fail_next(500, count=2, path_contains="/commit/")
    files = _videos(tmp_path, 2)
    assert publisher.publish(files, "Add videos") == 2
    assert set(hub.repo_files(REPO)) >= {f.path_in_repo for f in files}
    assert len(hub.commits) == 1


def test_conflicting_commit_is_retried(hub, tmp_path):
    publisher = HubPublisher(_settings(hub), REPO, backoff_s=0.05)
    publisher.ensure_repo()
    hub.conflict_next(1, land_commit=True)
    assert publisher.publish(_videos(tmp_path, 1), "Add a video") == 1


def test_wrong_token_fails_fast_naming_the_variable(hub, tmp_path):
    publisher = HubPublisher(_settings(hub, token="hf_wrong"), REPO, backoff_s=0.05)
    with pytest.raises(HubAuthError) as err:
        publisher.ensure_repo()
    assert "HF_TOKEN" in str(err.value) and "401" in str(err.value)
    assert "hf_wrong" not in str(err.value)


def test_missing_token_is_a_clear_error(hub):
    with pytest.raises(Exception, match="HF_TOKEN is not set"):
        HubPublisher(Settings(hf_endpoint=hub.url), REPO)


def test_metadata_merge_keeps_earlier_ranges():
    first = [{"file_name": "data/0000/00000000.mp4", "caption": "a"}, {"file_name": "data/0000/00000001.mp4"}]
    second = [{"file_name": "data/0000/00000001.mp4", "caption": "b"}, {"file_name": "data/0000/00000002.mp4"}]
    merged = merge_metadata(dump_metadata(first), second)
    assert [r["file_name"] for r in merged] == [f"data/0000/{i:08d}.mp4" for i in range(3)]
    assert merged[1]["caption"] == "b"


def test_local_dataset_loads_with_datasets(tmp_path):
    """A dataset folder in the published layout loads as a videofolder with every column the card documents,
    the ground-truth columns among them; the camera and pass files beside the videos do not disturb it."""
    from datasets import Sequence, Value, Video, load_dataset

    from simian.combine.combiner import combination_for
    from simian.dataset import FolderSink
    from simian.dataset.columns import COLUMNS
    from simian.dataset.layout import ROW_KEYS
    from simian.recipe.assets import AssetResolver
    from simian.render import Renderer, RenderSettings

    root = tmp_path / "dataset"
    sink = FolderSink(root)
    settings = RenderSettings(width=64, height=48, frames=6, samples=2, passes=("depth", "segmentation"))
    resolver = AssetResolver(Settings(simian_cache_dir=tmp_path / "cache"))
    with Renderer() as renderer, sink.scratch() as scratch:
        for index in range(2):
            for variant in range(2):
                combination = combination_for(2, index, variant=variant)
                sink.publish(
                    combination,
                    settings,
                    renderer.render(combination, settings, scratch),
                    licenses=resolver.licenses(combination),
                )
    assert not (root / ".simian-scratch").exists() or not any((root / ".simian-scratch").iterdir())
    assert finalise_local(root) == 4
    card = (root / "README.md").read_text()
    assert card.startswith("---\n") and "license: mit" in card and "text-to-video" in card
    assert "Videos:** 4" in card and "Scenes:** 2, each under 2 camera move(s)" in card
    assert "**Layout:** `videofolder`" in card, "the card says which layout the dataset uses"
    assert "| `mit` | MIT License | " in card
    assert "## Ground truth" in card and "`segmentation` (4 videos)" in card
    documented = {"video" if key == "file_name" else key for key in ROW_KEYS}
    assert documented == set(COLUMNS), "every column of the row is documented on the card, and only those"
    for column, (kind, meaning) in COLUMNS.items():
        assert f"| `{column}` | {kind} | {meaning} |" in card

    # A cache of its own: `datasets` keys its cache by path, so another run's dataset at this path could be served.
    dataset = load_dataset("videofolder", data_dir=str(root), split="train", cache_dir=str(tmp_path / "hf-datasets"))
    dataset = dataset.cast_column("video", Video(decode=False))
    assert dataset.num_rows == 4 and set(dataset.column_names) == set(COLUMNS)
    features = dataset.features
    for column in ("index", "variant"):
        assert features[column] == Value("int64"), column
    for column in (
        "scene_id",
        "caption",
        "caption_short",
        "caption_camera",
        "captions_structured",
        "renderer_version",
        "sha256",
        "camera_file",
    ):
        assert features[column] == Value("string"), column
    assert set(features["captions"]) == {
        "objects",
        "background",
        "orientation",
        "framing",
        "animation",
        "stage",
        "postprocessing",
    }
    assert all(v == Value("string") for v in features["captions"].values())
    licence = features["licenses"]
    licence = licence.feature if isinstance(licence, Sequence) else licence[0]
    assert {k: v.dtype for k, v in licence.items()} == {
        k: "string" for k in ("asset", "role", "license", "license_name", "license_url", "attribution")
    }
    assert features["combination"]["animation"]["name"] == Value("string")
    assert features["settings"]["width"] == Value("int64") and features["settings"]["preset"] is not None

    rows = {Path(row["video"]["path"]).name: row for row in dataset}
    for index in range(2):
        for variant in range(2):
            name = f"{index:08d}{'-v1' if variant else ''}"
            meta = json.loads((root / f"data/0000/{name}.json").read_text())
            row, recipe = rows[f"{name}.mp4"], combination_for(2, index, variant=variant)
            assert row["caption"] == meta["caption"] == recipe.caption
            assert row["caption_short"] == recipe.caption_short and row["caption_camera"] == recipe.caption_camera
            assert json.loads(row["captions_structured"])["camera"]["move"] == recipe.animation.name
            assert (row["index"], row["variant"]) == (index, variant)
            assert [lic["license"] for lic in row["licenses"]] == ["mit"] * len(row["licenses"])
            assert len(row["camera"]["camera_to_world"]) == 6 and len(row["camera"]["intrinsics"][0]) == 4
            assert [o["id"] for o in row["objects"]] == list(range(1, len(recipe.objects) + 1))
            assert row["passes"] == {
                "depth": f"data/0000/{name}.depth.npz",
                "normal": None,
                "segmentation": f"data/0000/{name}.segmentation.npz",
                "flow": None,
            }
            assert (root / row["passes"]["depth"]).is_file() and (root / row["camera_file"]).is_file()
            assert len(meta["visible_objects"]) == len(row["objects"])
        assert rows[f"{index:08d}.mp4"]["scene_id"] == rows[f"{index:08d}-v1.mp4"]["scene_id"]
    lines = (root / METADATA).read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["file_name"].startswith("data/0000/00000000")


def test_hub_snapshot_loads_with_datasets(hub, tmp_path):
    """What the finaliser commits (videos + metadata.jsonl + card) loads back from a snapshot."""
    from datasets import Video, load_dataset

    from simian.dataset import dataset_card

    publisher = HubPublisher(_settings(hub), REPO, backoff_s=0.05)
    publisher.ensure_repo()
    files = _videos(tmp_path, 3)
    publisher.publish(files, "Add videos")
    rows = [
        {"file_name": f.path_in_repo, "caption": f"caption {i}", "index": i, "sha256": f.sha256}
        for i, f in enumerate(files)
    ]
    publisher.commit_texts(
        {METADATA: dump_metadata(rows), "README.md": dataset_card({"default": rows}, REPO)},
        "index",
        parent_commit=publisher.head(),
    )
    snapshot = snapshot_download(
        REPO, repo_type="dataset", endpoint=hub.url, token=TOKEN, local_dir=tmp_path / "snapshot"
    )
    dataset = load_dataset(snapshot, split="train", cache_dir=str(tmp_path / "hf-datasets"))
    dataset = dataset.cast_column("video", Video(decode=False))
    assert sorted(dataset["caption"]) == ["caption 0", "caption 1", "caption 2"]


def test_the_readme_documents_every_column_as_the_card_does():
    from simian.dataset.columns import column_table

    assert column_table() in (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_double_refuses_what_the_hub_would_and_the_publisher_says_so(tmp_path):
    """Files per commit, entries per folder, files per repository and commits per hour, scaled down: a layout
    that would outgrow the Hub fails here, with the Hub's message, instead of at 50,000 clips."""
    from dataclasses import replace

    from simian.dataset.hub import HubError
    from simian.retry import RetryPolicy

    from .doubles.hub import HubLimits

    limits = HubLimits(files_per_repo=5, entries_per_folder=3, files_per_commit=2, commits_per_hour=3)
    with HubTestDouble(tmp_path / "hub", token=TOKEN, limits=limits) as double, client_xet_disabled():
        publisher = HubPublisher(_settings(double), REPO, backoff_s=0.01)
        publisher.retry = RetryPolicy(attempts=2, backoff_s=0.01, max_retry_after_s=0.05)
        publisher.ensure_repo()
        files = _videos(tmp_path, 6)
        with pytest.raises(HubError, match="2 files per commit"):
            publisher.publish(files[:3], "three at once", batch_size=3)
        assert publisher.publish(files[:2], "two", batch_size=2) == 2
        with pytest.raises(HubError, match="entries per folder"):
            publisher.publish(files[2:4], "a folder of four", batch_size=2)
        assert publisher.publish(files[2:3], "a third", batch_size=1) == 1
        moved = [replace(f, path_in_repo=f"data/0001/{i}.mp4") for i, f in enumerate(files[3:6])]
        with pytest.raises(HubError, match="files per repository"):
            publisher.publish(moved, "past five files", batch_size=2)  # .gitattributes + 3 + 2 = 6
        assert publisher.publish(moved[:1], "a fourth", batch_size=1) == 1
        with pytest.raises(HubError, match="hourly quotas"):
            publisher.publish(moved[1:2], "a fourth commit in the hour", batch_size=1)
        assert len(double.commits) == 3
