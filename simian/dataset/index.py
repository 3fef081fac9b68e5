"""The dataset's index files: `metadata.jsonl` (one row per video) and the card `README.md`.

Written by one finaliser at the end of a range, merging with what is already there, so
they stay correct when several ranges publish into the same folder or repo.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from huggingface_hub import DatasetCard, DatasetCardData

from simian import atomic
from simian.assets.licenses import PROJECT_LICENSE
from simian.assets.text import clean_text, markdown_text
from simian.dataset import truth_columns as ground_truth
from simian.dataset.charts import card_section, chart_files
from simian.dataset.columns import column_table
from simian.dataset.identity import DEFAULT_CONFIG, IDENTITY_FILE, config_folder, read_identities
from simian.dataset.layout import DATASET, row_from_sidecar

METADATA = "metadata.jsonl"
CARD = "README.md"


def parse_metadata(text: str | None) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for line in (text or "").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["file_name"]] = row
    return rows


def merge_metadata(existing: str | None, new_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Existing rows updated by new ones (same file_name wins), sorted by file name."""
    rows = parse_metadata(existing)
    for row in new_rows:
        rows[row["file_name"]] = row
    return [rows[name] for name in sorted(rows)]


def dump_metadata(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)


def _size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < bound:
            return label
    return "1M<n<10M"


def in_config(config: str, path: str) -> str:
    """A path of a config's folder, relative to the dataset root."""
    folder = config_folder(config)
    return f"{folder}/{path}" if folder else path


def _row_licenses(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [lic for r in rows for lic in (r.get("licenses") or []) if isinstance(lic, dict)]


def license_field(rows: list[dict[str, Any]]) -> str | list[str]:
    """The card's `license`: the licences of the assets the videos show (Hub ids), or 'other' when not recorded."""
    ids = sorted({str(lic.get("license")) for lic in _row_licenses(rows)})
    if not ids:
        return "other"
    return ids[0] if len(ids) == 1 else ids


#: Credits listed on the card; the `licenses` column holds every one.
MAX_CREDITS = 50
MAX_CREDIT_CHARS = 400  # one credit line of the card


def _code(text: str) -> str:
    """Safe inside a Markdown code span: one clean line without backticks."""
    return clean_text(text, 80).replace("`", "'")


def license_summary(rows: list[dict[str, Any]]) -> str:
    """Per licence: its name, how many assets and videos carry it; then the credits of assets that ask for one."""
    per_license: dict[str, dict[str, Any]] = {}
    for row in rows:
        for lic in {(str(x.get("license")), str(x.get("asset"))): x for x in row.get("licenses") or []}.values():
            entry = per_license.setdefault(
                str(lic.get("license")), {"name": lic.get("license_name"), "assets": set(), "videos": set()}
            )
            entry["assets"].add(lic.get("asset"))
            entry["videos"].add(row.get("file_name"))
    if not per_license:
        return "Not recorded for these videos (rendered before licences were recorded)."
    lines = ["| licence | name | assets | videos |", "|---|---|---|---|"]
    lines += [
        f"| `{_code(ident)}` | {markdown_text(str(entry['name']), 200)} | {len(entry['assets'])} | "
        f"{len(entry['videos'])} |"
        for ident, entry in sorted(per_license.items())
    ]
    others = [lic for lic in _row_licenses(rows) if lic.get("license") != PROJECT_LICENSE]
    credits = sorted({str(lic.get("attribution")) for lic in others})
    if credits:
        lines += ["", "Credits (assets other than Simian's own built-ins):", ""]
        lines += [f"- {markdown_text(credit, MAX_CREDIT_CHARS)}" for credit in credits[:MAX_CREDITS]]
        if len(credits) > MAX_CREDITS:
            lines.append(f"- ... and {len(credits) - MAX_CREDITS} more: see the `licenses` column")
    return "\n".join(lines)


def _card_data(configs: dict[str, list[dict[str, Any]]], license_id: str | list[str]) -> DatasetCardData:
    return DatasetCardData(
        license=license_id,
        task_categories=["text-to-video"],
        language=["en"],
        tags=["synthetic", "blender", "simian"],
        size_categories=[_size_category(sum(len(rows) for rows in configs.values()))],
        configs=[
            {
                "config_name": name,
                "data_files": [
                    {"split": "train", "path": [in_config(name, METADATA), in_config(name, DATASET.glob(".mp4"))]}
                ],
                **({"default": True} if name == DEFAULT_CONFIG else {}),
            }
            for name in sorted(configs, key=lambda n: (n != DEFAULT_CONFIG, n))
        ],
    )


def card_files(
    configs: dict[str, list[dict[str, Any]]], title: str, render_seconds: list[float] | None = None
) -> dict[str, str]:
    """The card and the charts it shows (`charts/*.svg`), by their paths in the dataset: what both finalisers
    write, the local folder and the Hub commit. The local finaliser has every sidecar and passes their render
    seconds; the Hub's sees one range, so its card has no render-time chart."""
    charts = chart_files([row for config_rows in configs.values() for row in config_rows], render_seconds)
    return {CARD: dataset_card(configs, title, charts=charts), **charts}


def dataset_card(
    configs: dict[str, list[dict[str, Any]]],
    title: str,
    license_id: str | list[str] | None = None,
    charts: dict[str, str] | None = None,
) -> str:
    """A card whose YAML front matter `datasets` and the Hub understand (one `configs` entry per named
    config, the assets' licences), plus how the videos were made, what each column holds and whom to credit."""
    rows = [row for config_rows in configs.values() for row in config_rows]
    license_id = license_field(rows) if license_id is None else license_id
    settings = Counter(
        json.dumps({k: v for k, v in (r.get("settings") or {}).items() if k != "device"}, sort_keys=True) for r in rows
    )
    versions = Counter(r.get("renderer_version") for r in rows)
    seeds = Counter((r.get("combination") or {}).get("seed") for r in rows)
    sources = Counter(
        a.split(":", 1)[0] for r in rows for a in [o["asset"] for o in (r.get("combination") or {}).get("objects", [])]
    )
    indices = sorted(int(r["index"]) for r in rows if r.get("index") is not None)
    settings_lines = "\n".join(f"- `{s}`: {n} videos" for s, n in settings.most_common())
    version_lines = "\n".join(f"- `{v}`: {n} videos" for v, n in versions.most_common())
    seed_lines = ", ".join(f"{s} ({n})" for s, n in seeds.most_common()) or "-"
    source_lines = ", ".join(f"{s} ({n} objects)" for s, n in sources.most_common()) or "-"
    span = f"{indices[0]}..{indices[-1]}" if indices else "-"
    config_lines = ", ".join(
        f"`{name}` ({len(config_rows)} videos{', in ' + config_folder(name) + '/' if config_folder(name) else ''})"
        for name, config_rows in sorted(configs.items())
    )
    body = f"""
# {title}

Synthetic video–caption pairs rendered with Blender by Simian. Each video is one scene recipe
("combination"); its caption is written from the same scene plan the renderer keyframed, so
sizes, left/right, movement and camera moves in the caption match the video.

- **Layout:** `videofolder`: one file per video in `{DATASET.pattern(".mp4")}`, rows in `{METADATA}`
- **Videos:** {len(rows)} (indices {span}), H.264 yuv420p, in `{DATASET.pattern(".mp4")}`
- **Configs:** {config_lines}
- **Metadata:** `{METADATA}`, one row per video (columns below)
- **Scenes:** {len({r.get("scene_id") for r in rows})}, each under {_variant_counts(rows)} camera move(s) (`variant`)
- **Seeds:** {seed_lines}
- **Object sources:** {source_lines}

## Make-up

{card_section(charts or {})}

## Columns

{column_table()}

## Licences

Every video shows assets under these licences (the `licenses` column lists each video's assets and the credit
each asks for):

{license_summary(rows)}

{ground_truth.card_text(rows)}

## Render settings

{settings_lines or "-"}

## Renderer versions

{version_lines or "-"}

## Loading

```python
from datasets import load_dataset, Video
ds = load_dataset("videofolder", data_dir="path/to/snapshot", split="train")
ds = ds.cast_column("video", Video(decode=False))   # paths; decoding needs torchcodec
```

To keep only some licences:
`ds.filter(lambda r: all(x["license"] in {{"cc0-1.0", "cc-by-4.0"}} for x in r["licenses"]))`.
"""
    card = DatasetCard(f"---\n{_card_data(configs, license_id).to_yaml()}\n---\n{body}")
    return str(card)


def _variant_counts(rows: list[dict[str, Any]]) -> str:
    per_scene: dict[Any, int] = {}
    for row in rows:
        per_scene[row.get("scene_id")] = per_scene.get(row.get("scene_id"), 0) + 1
    counts = sorted(set(per_scene.values()))
    return " to ".join(str(c) for c in (counts[0], counts[-1])) if len(counts) > 1 else str(counts[0] if counts else 0)


def finalise_local(root: Path, title: str | None = None) -> int:
    """Rebuild each config's metadata.jsonl from its sidecars, and the card; return the row count."""
    record = root / IDENTITY_FILE
    names = read_identities(record.read_text(encoding="utf-8")) if record.is_file() else {}
    configs: dict[str, list[dict[str, Any]]] = {}
    seconds: list[float] = []
    for name in names or [DEFAULT_CONFIG]:
        folder = root / config_folder(name)
        sidecars = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob(DATASET.glob(".json"))]
        seconds += [float(sc["render_seconds"]) for sc in sidecars if isinstance(sc.get("render_seconds"), int | float)]
        rows = [row_from_sidecar(sidecar) for sidecar in sidecars]
        rows.sort(key=lambda r: r["file_name"])
        atomic.write_text(folder / METADATA, dump_metadata(rows))
        configs[name] = rows
    for path, text in card_files(configs, title or root.name, seconds).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(root / path, text)
    return sum(len(rows) for rows in configs.values())
