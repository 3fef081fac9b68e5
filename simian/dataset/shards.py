"""The Parquet layout of a Hub dataset: clips packed into shards on a fixed grid of scene indices.

Why Parquet rather than a video folder or WebDataset tars: a videofolder repo needs 2-7 files per clip and one
`metadata.jsonl` for all of them, so it breaks the Hub's limits (100,000 files per repo, 10,000 per folder) at
15,000-50,000 clips and every range rewrites the whole index. A Parquet shard holds the video bytes and the
caption columns of `hf_shard_size` scenes in one file that is its own index: `datasets`, the Hub viewer and SQL
read the caption columns as real columns, and a reader of captions skips the video bytes by projection.

Per shard, in the config's folder (`shard = index // hf_shard_size`, a thousand shards per folder):

- `data/GGGG/SSSSSS.parquet`: one row per video, the video bytes in a `video` column `datasets` reads as Video,
  the caption and summary columns; what `load_dataset(repo)` loads (the card's `configs` glob).
- `truth/GGGG/SSSSSS.parquet`: the per-frame ground truth of each video (camera, objects), its camera file
  and pass archives, keyed by `file_name`; a tree the default config's glob does not match.
- `stats/shards/GGGG/SSSSSS.json`: the shard's counts for the card (written with the shard), and
  `stats/counted/GGGG/SSSSSS.json`, the counts the aggregate `stats/dataset.json` holds for it (written by the
  finaliser): the finaliser subtracts the one and adds the other, so its cost does not grow with the dataset.

The same content gives the same bytes, so publishing compares by sha256 and a re-run commits nothing.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from simian.assets.licenses import PROJECT_LICENSE
from simian.dataset.charts import CHART_SPECS

LAYOUTS = ("videofolder", "parquet")
DEFAULT_SHARD_SIZE = 256
#: Shards per folder of each tree: a million clips at 256 per shard are 3,907 shards in 4 folders.
SHARDS_PER_FOLDER = 1000
#: The config's aggregate counts, what the card is written from.
AGGREGATE = "stats/dataset.json"
#: Credits the aggregate keeps (the card lists 50; the `licenses` column holds every one).
MAX_CREDITS = 50
PASS_COLUMNS = ("depth", "normal", "segmentation", "flow")

_S = pa.string()
_F = pa.float64()
_I = pa.int64()
LICENSE_TYPE = pa.struct([(k, _S) for k in ("asset", "role", "license", "license_name", "license_url", "attribution")])
CAPTIONS_TYPE = pa.struct(
    [(k, _S) for k in ("objects", "background", "orientation", "framing", "animation", "stage", "postprocessing")]
)
VIDEO_TYPE = pa.struct([("bytes", pa.binary()), ("path", _S)])
#: `datasets` reads the `video` struct as its Video feature (bytes and a path), the rest from the Arrow types.
HF_FEATURES = {b"huggingface": json.dumps({"info": {"features": {"video": {"_type": "Video"}}}}).encode()}

DATA_SCHEMA = pa.schema(
    [
        ("video", VIDEO_TYPE),
        ("file_name", _S),
        ("index", _I),
        ("variant", _I),
        ("scene_id", _S),
        ("caption", _S),
        ("captions", CAPTIONS_TYPE),
        ("caption_short", _S),
        ("caption_camera", _S),
        ("captions_structured", _S),
        ("combination", _S),
        ("settings", _S),
        ("renderer_version", _S),
        ("sha256", _S),
        ("licenses", pa.list_(LICENSE_TYPE)),
        ("truth_file", _S),
        ("frames", _I),
        ("width", _I),
        ("height", _I),
        ("fps", _I),
        ("object_names", pa.list_(_S)),
        ("passes", pa.list_(_S)),
    ],
    metadata=HF_FEATURES,
)

CAMERA_TYPE = pa.struct(
    [
        ("convention", _S),
        ("width", _I),
        ("height", _I),
        ("fps", _I),
        ("sensor_width_mm", _F),
        ("sensor_height_mm", _F),
        ("focal_length_mm", pa.list_(_F)),
        ("intrinsics", pa.list_(pa.list_(_F))),
        ("camera_to_world", pa.list_(pa.list_(pa.list_(_F)))),
    ]
)
OBJECT_TYPE = pa.struct(
    [
        ("id", _I),
        ("name", _S),
        ("asset", _S),
        ("shape_known", pa.bool_()),
        ("dims", pa.list_(_F)),
        ("box", pa.list_(pa.list_(_F))),
        ("in_frame", pa.list_(_F)),
        ("position", pa.list_(pa.list_(_F))),
        ("rotation", pa.list_(pa.list_(_F))),
    ]
)
TRUTH_SCHEMA = pa.schema(
    [
        ("file_name", _S),
        ("camera", CAMERA_TYPE),
        ("objects", pa.list_(OBJECT_TYPE)),
        ("camera_file", _S),
        *[(name, pa.binary()) for name in PASS_COLUMNS],
    ]
)


@dataclass(frozen=True)
class ShardGrid:
    """Shard `s` holds scenes [s * size, (s + 1) * size) with all their camera variants, whatever the chunking:
    no clip is ever in two shards."""

    size: int = DEFAULT_SHARD_SIZE
    per_folder: int = SHARDS_PER_FOLDER

    def shard_of(self, index: int) -> int:
        return index // self.size

    def shards(self, start: int, end: int) -> range:
        """The shards scenes [start, end) fall in."""
        return range(start // self.size, (end - 1) // self.size + 1)

    def _path(self, tree: str, shard: int, suffix: str) -> str:
        return f"{tree}/{shard // self.per_folder:04d}/{shard:06d}{suffix}"

    def data(self, shard: int) -> str:
        return self._path("data", shard, ".parquet")

    def truth(self, shard: int) -> str:
        return self._path("truth", shard, ".parquet")

    def stats(self, shard: int) -> str:
        return self._path("stats/shards", shard, ".json")

    def counted(self, shard: int) -> str:
        return self._path("stats/counted", shard, ".json")

    @staticmethod
    def data_glob() -> str:
        return "data/*/*.parquet"


def video_name(file_name: str) -> str:
    """A video's key in the shards: its name without the videofolder's folders (`00000007-v1.mp4`)."""
    return file_name.rsplit("/", 1)[-1]


def data_record(row: dict[str, Any], video: bytes, truth_file: str) -> dict[str, Any]:
    """A data-shard row from a metadata row (`build_row`) and the video's bytes: the per-frame ground truth
    leaves it, a reference to the truth shard and per-clip summary columns stay."""
    camera = row.get("camera") or {}
    name = video_name(row["file_name"])
    return {
        "video": {"bytes": video, "path": name},
        "file_name": name,
        **{key: row.get(key) for key in ("index", "variant", "scene_id", "caption", "captions")},
        **{key: row.get(key) for key in ("caption_short", "caption_camera", "captions_structured")},
        "combination": json.dumps(row.get("combination"), sort_keys=True),
        "settings": json.dumps(row.get("settings"), sort_keys=True),
        **{key: row.get(key) for key in ("renderer_version", "sha256", "licenses")},
        "truth_file": truth_file,
        "frames": len(camera.get("intrinsics") or []),
        "width": camera.get("width"),
        "height": camera.get("height"),
        "fps": camera.get("fps"),
        "object_names": [str(o.get("name")) for o in row.get("objects") or []],
        "passes": [name for name, path in (row.get("passes") or {}).items() if path],
    }


def truth_record(
    row: dict[str, Any], camera_file: str | None, passes: dict[str, bytes], file_name: str | None = None
) -> dict[str, Any]:
    """A truth-shard row: the per-frame camera and objects of one video, its camera file and pass archives."""
    return {
        "file_name": file_name or video_name(row["file_name"]),
        "camera": row.get("camera"),
        "objects": row.get("objects"),
        "camera_file": camera_file,
        **{name: passes.get(name) for name in PASS_COLUMNS},
    }


def parquet_bytes(records: list[dict[str, Any]], schema: pa.Schema) -> bytes:
    """Records sorted by file_name in one row group: the same records give the same bytes."""
    ordered = sorted(records, key=lambda r: r["file_name"])
    table = pa.Table.from_pylist(ordered, schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd", row_group_size=max(1, len(ordered)), write_statistics=True)
    return out.getvalue()


def read_records(data: bytes) -> list[dict[str, Any]]:
    return list(pq.read_table(io.BytesIO(data)).to_pylist())


def merged(existing: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a shard already in the repo updated by new ones (same file_name wins)."""
    rows = {r["file_name"]: r for r in existing}
    rows.update({r["file_name"]: r for r in new})
    return [rows[name] for name in sorted(rows)]


# Counts: what the card shows, kept per shard so that the aggregate is updated by difference.

_COUNTERS = ("variants", "settings", "versions", "seeds", "sources", "passes", "license_videos", "license_uses")


def shard_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The card's figures for one shard's data rows, plus each video's sha256 (what the finaliser confirms)."""
    rows = [
        {
            **r,
            "combination": json.loads(r["combination"] or "null") or {},
            "settings": json.loads(r["settings"] or "{}"),
        }
        for r in records
    ]
    per_scene = Counter(r.get("scene_id") for r in rows)
    licence_names: dict[str, str] = {}
    licence_videos: Counter[str] = Counter()
    licence_uses: Counter[str] = Counter()
    credits: set[str] = set()
    for r in rows:
        seen = set()
        for lic in r.get("licenses") or []:
            ident = str(lic.get("license"))
            licence_names[ident] = str(lic.get("license_name"))
            licence_uses[ident] += 1
            seen.add(ident)
            if ident != PROJECT_LICENSE:
                credits.add(str(lic.get("attribution")))
        licence_videos.update(seen)
    indices = [int(r["index"]) for r in rows]
    return {
        "videos": len(rows),
        "scenes": len(per_scene),
        "index_min": min(indices, default=None),
        "index_max": max(indices, default=None),
        "variants": dict(Counter(str(n) for n in per_scene.values())),
        "settings": dict(
            Counter(json.dumps({k: v for k, v in r["settings"].items() if k != "device"}, sort_keys=True) for r in rows)
        ),
        "versions": dict(Counter(str(r.get("renderer_version")) for r in rows)),
        "seeds": dict(Counter(str(r["combination"].get("seed")) for r in rows)),
        "sources": dict(
            Counter(str(o.get("asset", "")).split(":", 1)[0] for r in rows for o in r["combination"].get("objects", []))
        ),
        "passes": dict(Counter(name for r in rows for name in r.get("passes") or [])),
        "license_videos": dict(licence_videos),
        "license_uses": dict(licence_uses),
        "license_names": licence_names,
        "credits": sorted(credits)[:MAX_CREDITS],
        "charts": {stem: dict(Counter(label for r in rows for label in what(r))) for stem, _, what in CHART_SPECS},
        "files": {r["file_name"]: r["sha256"] for r in rows},
    }


def _add(total: dict[str, int], part: dict[str, int], sign: int) -> dict[str, int]:
    out = dict(total)
    for key, value in part.items():
        out[key] = out.get(key, 0) + sign * value
    return {key: value for key, value in sorted(out.items()) if value}


def empty_aggregate(shard_size: int) -> dict[str, Any]:
    return {"layout": "parquet", "shard_size": shard_size, "shards": 0, "videos": 0, "scenes": 0, "charts": {}}


def updated_aggregate(
    aggregate: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any] | None
) -> dict[str, Any]:
    """The aggregate with one shard's counts replaced: `old` (what it held for the shard) out, `new` in. Index
    bounds, licence names and credits only grow: shards are replaced, never removed."""
    out = dict(aggregate)
    for part, sign in ((old, -1), (new, 1)):
        if not part:
            continue
        out["shards"] = out.get("shards", 0) + sign
        for key in ("videos", "scenes"):
            out[key] = out.get(key, 0) + sign * int(part.get(key) or 0)
        for key in _COUNTERS:
            out[key] = _add(out.get(key) or {}, part.get(key) or {}, sign)
        charts = dict(out.get("charts") or {})
        for stem, tally in (part.get("charts") or {}).items():
            charts[stem] = _add(charts.get(stem) or {}, tally, sign)
        out["charts"] = charts
    if new:
        lows = [v for v in (out.get("index_min"), new.get("index_min")) if v is not None]
        highs = [v for v in (out.get("index_max"), new.get("index_max")) if v is not None]
        out["index_min"], out["index_max"] = min(lows, default=None), max(highs, default=None)
        out["license_names"] = dict(sorted({**(out.get("license_names") or {}), **new["license_names"]}.items()))
        out["credits"] = sorted(set(out.get("credits") or []) | set(new.get("credits") or []))[:MAX_CREDITS]
    return out


def dump_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n"
