"""The card of a dataset in the Parquet layout, written from each config's aggregate counts (never from its rows),
so the finaliser's cost does not grow with the dataset."""

from __future__ import annotations

from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from simian.assets.text import markdown_text
from simian.dataset.charts import card_section, chart_files_from_tallies
from simian.dataset.columns import PARQUET_COLUMNS, TRUTH_COLUMNS, table
from simian.dataset.identity import DEFAULT_CONFIG, config_folder
from simian.dataset.index import CARD, _size_category, in_config
from simian.dataset.shards import ShardGrid


def _license_field(aggregates: dict[str, dict[str, Any]]) -> str | list[str]:
    ids = sorted({ident for agg in aggregates.values() for ident in agg.get("license_videos") or {}})
    if not ids:
        return "other"
    return ids[0] if len(ids) == 1 else ids


def _sum(aggregates: dict[str, dict[str, Any]], key: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for agg in aggregates.values():
        for label, n in (agg.get(key) or {}).items():
            total[label] = total.get(label, 0) + n
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


def loader_lines(repo_id: str) -> str:
    """How to load the dataset, for the card and the README."""
    return f"""```python
from datasets import load_dataset, Video
ds = load_dataset("{repo_id}", streaming=True, split="train")           # a named config: name="..."
ds = ds.cast_column("video", Video(decode=False))   # {{"bytes", "path"}}; decoding needs torchcodec
captions = load_dataset("{repo_id}", streaming=True, split="train",
                        columns=["file_name", "caption", "caption_short"])   # skips the video bytes
```

Per-frame ground truth of a shard: `pyarrow.parquet.read_table(hf_hub_download("{repo_id}", row_truth_file,
repo_type="dataset"))`, one row per video keyed by `file_name` (the row's `truth_file` is relative to its config's
folder)."""


def sharded_card_files(aggregates: dict[str, dict[str, Any]], title: str) -> dict[str, str]:
    """The card and its charts from the aggregates of every config (config name -> `stats/dataset.json`)."""
    tallies: dict[str, dict[str, int]] = {}
    for agg in aggregates.values():
        for stem, tally in (agg.get("charts") or {}).items():
            for label, n in tally.items():
                tallies.setdefault(stem, {})[label] = tallies.setdefault(stem, {}).get(label, 0) + n
    charts = chart_files_from_tallies(tallies)
    return {CARD: sharded_card(aggregates, title, charts), **charts}


def sharded_card(aggregates: dict[str, dict[str, Any]], title: str, charts: dict[str, str]) -> str:
    videos = sum(int(agg.get("videos") or 0) for agg in aggregates.values())
    names = sorted(aggregates, key=lambda n: (n != DEFAULT_CONFIG, n))
    data = DatasetCardData(
        license=_license_field(aggregates),
        task_categories=["text-to-video"],
        language=["en"],
        tags=["synthetic", "blender", "simian"],
        size_categories=[_size_category(videos)],
        configs=[
            {
                "config_name": name,
                "data_files": [{"split": "train", "path": in_config(name, ShardGrid.data_glob())}],
                **({"default": True} if name == DEFAULT_CONFIG else {}),
            }
            for name in names
        ],
    )
    lows = [a["index_min"] for a in aggregates.values() if a.get("index_min") is not None]
    highs = [a["index_max"] for a in aggregates.values() if a.get("index_max") is not None]
    span = f"{min(lows)}..{max(highs)}" if lows else "-"
    config_lines = ", ".join(
        f"`{n}` ({aggregates[n].get('videos', 0)} videos in {aggregates[n].get('shards', 0)} shards of "
        f"{aggregates[n].get('shard_size')} scenes{', in ' + config_folder(n) + '/' if config_folder(n) else ''})"
        for n in names
    )
    scenes = sum(int(a.get("scenes") or 0) for a in aggregates.values())
    variants = sorted(int(k) for k in _sum(aggregates, "variants"))
    variant_text = (
        "-" if not variants else str(variants[0]) if len(variants) == 1 else f"{variants[0]} to {variants[-1]}"
    )
    seeds = ", ".join(f"{s} ({n})" for s, n in _sum(aggregates, "seeds").items()) or "-"
    sources = ", ".join(f"{s} ({n} objects)" for s, n in _sum(aggregates, "sources").items()) or "-"
    names_of = {k: v for agg in aggregates.values() for k, v in (agg.get("license_names") or {}).items()}
    uses = _sum(aggregates, "license_uses")
    licence_rows = [
        f"| `{ident}` | {markdown_text(names_of.get(ident, ''), 200)} | {uses.get(ident, 0)} | {n} |"
        for ident, n in sorted(_sum(aggregates, "license_videos").items())
    ]
    credits = sorted({c for agg in aggregates.values() for c in agg.get("credits") or []})
    passes = _sum(aggregates, "passes")
    settings = "\n".join(f"- `{s}`: {n} videos" for s, n in _sum(aggregates, "settings").items()) or "-"
    versions = "\n".join(f"- `{v}`: {n} videos" for v, n in _sum(aggregates, "versions").items()) or "-"
    licence_table = (
        "\n".join(["| licence | name | asset uses | videos |", "|---|---|---|---|", *licence_rows])
        if licence_rows
        else "Not recorded for these videos."
    )
    credit_lines = "\n".join(f"- {markdown_text(c, 400)}" for c in credits)
    body = f"""
# {title}

Synthetic video–caption pairs rendered with Blender by Simian. Each video is one scene recipe
("combination"); its caption is written from the same scene plan the renderer keyframed, so
sizes, left/right, movement and camera moves in the caption match the video.

- **Layout:** `parquet`: the videos and their caption columns in Parquet shards `data/GGGG/SSSSSS.parquet`
  (shard = scene index // shard size), the per-frame ground truth in `truth/GGGG/SSSSSS.parquet`
- **Videos:** {videos} (indices {span}), H.264 yuv420p, as bytes in the `video` column
- **Configs:** {config_lines}
- **Scenes:** {scenes}, each under {variant_text} camera move(s) (`variant`)
- **Seeds:** {seeds}
- **Object sources:** {sources}

## Loading

{loader_lines(title)}

## Make-up

{card_section(charts)}

## Columns

{table(PARQUET_COLUMNS)}

Ground-truth shards (`truth/`), one row per video:

{table(TRUTH_COLUMNS)}

## Licences

{licence_table}

{"Credits (assets other than Simian's own built-ins; every one is in the `licenses` column):" if credits else ""}

{credit_lines}

## Ground truth

Passes rendered: {", ".join(f"`{name}` ({n} videos)" for name, n in passes.items()) or "none"}. Convention:
OpenCV camera axes (x right, y down, z forward), pixel origin at the image's top-left corner, world Z up.

## Render settings

{settings}

## Renderer versions

{versions}
"""
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}"))
