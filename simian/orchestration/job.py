"""A range job: every flow parameter in one validated object, checked before any work.

The render knobs and the combiner options are the same models the command line uses; the flow's
flat parameters are split into them here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simian.assets.licenses import parse_allowed
from simian.combine.combiner import CombinerOptions
from simian.combine.sources import CombinationSource, FileSource, load_file_source, open_source
from simian.combine.variants import VideoKey, video_keys
from simian.dataset.identity import DEFAULT_CONFIG, DatasetIdentity, check_config_name, claim_local, config_folder
from simian.dataset.location import confine_output
from simian.dataset.shards import DEFAULT_SHARD_SIZE, ShardGrid
from simian.errors import InvalidInputError, invalid_input
from simian.recipe.combination import MAX_CAMERA_VARIANTS, Combination
from simian.render.render_settings import RenderSettings
from simian.scene.plan import Clip
from simian.settings import load_settings, resolve_project_path
from simian.settings.parameters import flat_fields

#: Nested models whose fields are flow parameters of their own.
NESTED: dict[str, type[BaseModel]] = {"render": RenderSettings, "combiner": CombinerOptions}
#: The largest chunk an unset `chunk_size` makes: a crashed chunk run re-checks at most this many combinations.
AUTO_CHUNK_MAX = 64
#: The largest chunk an unset `chunk_size` makes for a dry run: planning renders nothing, so a chunk run's fixed
#: cost (a flow-run process, ~20 API requests) is what to amortise; a million combinations are 245 chunk runs.
AUTO_DRY_CHUNK_MAX = 4096


class RangeJob(BaseModel):
    """What `simian/render-range` was asked to do. Secrets are never part of it."""

    # Strict: a string is not a number, a bool not an int.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    start: int = Field(ge=0, description="First combination index of the range")
    end: int = Field(gt=0, description="End of the range, exclusive: renders start..end-1")
    render: RenderSettings = Field(default_factory=RenderSettings)
    seed: int | None = Field(default=0, description="Draw combination i from (seed, i); unset to use combinations")
    combinations: str | None = Field(
        default=None, description="Combinations file path or http(s) URL (instead of seed)"
    )
    combiner: CombinerOptions = Field(default_factory=CombinerOptions)
    camera_variants: int = Field(
        default=1,
        ge=1,
        le=MAX_CAMERA_VARIANTS,
        description=f"Render each scene under this many camera moves, 1-{MAX_CAMERA_VARIANTS} (same objects, "
        "background, floor, lighting; they share a scene_id)",
    )
    licenses: list[str] | None = Field(
        default=None,
        description='Allow only assets under these licences, e.g. ["cc0", "cc-by-4.0"] (built-in assets are '
        "mit); scenes using others are refused before rendering, naming each asset. Unset: any licence",
    )
    chunk_size: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Combinations per chunk run: the unit of scheduling, retry and Hub commit. Unset: the range "
        f"split evenly over the render workers online, at most {AUTO_CHUNK_MAX} per chunk ({AUTO_DRY_CHUNK_MAX} "
        "for a dry run)",
    )
    output: str = Field(
        default="dataset",
        min_length=1,
        description="Local dataset folder, below SIMIAN_OUTPUT_ROOT (by default the project folder)",
    )
    config: str = Field(
        default=DEFAULT_CONFIG,
        description="Named config of the dataset: another recipe source or render settings go into its own subfolder",
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Seconds one combination may render before it is killed; default SIMIAN_RENDER_TIMEOUT_S (900)",
    )
    hf_repo_id: str | None = Field(
        default=None, description="Hub dataset repo (org/name); default HF_REPO_ID when HF_TOKEN is set"
    )
    hf_private: bool = Field(default=True, description="Create the Hub repo as private")
    hf_batch_size: int = Field(default=100, ge=1, le=10000, description="Files per Hub commit, 1-10000")
    hf_layout: Literal["videofolder", "parquet"] = Field(
        default="videofolder",
        description="Hub layout: videofolder (a file per video and metadata.jsonl, for small datasets) or parquet "
        "(videos and captions in Parquet shards on a grid of hf_shard_size scenes: for large datasets)",
    )
    hf_shard_size: int = Field(
        default=DEFAULT_SHARD_SIZE,
        ge=1,
        le=10000,
        description=f"Scenes per Parquet shard (hf_layout parquet), 1-10000, default {DEFAULT_SHARD_SIZE}; "
        "chunk_size must be a multiple of it",
    )
    dry_run: bool = Field(default=False, description="Plan only: cache keys and cache hits, no render, no upload")

    @field_validator("output", "config", "combinations", "hf_repo_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("holds a NUL character, which no path or name can; remove it")
        return value

    @field_validator("licenses")
    @classmethod
    def _known_licenses(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(parse_allowed(value, where=""))

    @model_validator(mode="after")
    def _check(self) -> RangeJob:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be greater than start ({self.start}); the range is [start, end)")
        if self.combinations is not None and self.combinations.strip() == "":
            raise ValueError("combinations: empty path; leave it unset to draw from seed")
        if self.hf_layout == "parquet":
            if self.render.images:
                raise ValueError("hf_layout: parquet shards hold H.264 videos, not PNG frames; unset images")
            if self.chunk_size is not None and self.chunk_size % self.hf_shard_size:
                raise ValueError(
                    f"chunk_size ({self.chunk_size}) must be a multiple of hf_shard_size ({self.hf_shard_size}) with "
                    "hf_layout parquet, so that no two chunks write one shard"
                )
        return self

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> RangeJob:
        """Build from the flow's flat parameters; unknown ones and bad values are refused by name."""
        nested: dict[str, dict[str, Any]] = {name: {} for name in NESTED}
        values: dict[str, Any] = {}
        for key, value in parameters.items():
            owner = next((name for name, model in NESTED.items() if key in model.model_fields), None)
            if owner is not None:
                nested[owner][key] = value
            else:
                values[key] = value
        return cls.model_validate({**values, **nested})

    def source(self) -> CombinationSource:
        if self.combinations is not None:
            return _cached_file_source(self.combinations, self.render.clip())
        return open_source(seed=self.seed, options=self.combiner, clip=self.render.clip())

    def combination(self, key: VideoKey) -> Combination:
        """The recipe of one video: scene `key.index` under camera variant `key.variant`."""
        return self.source().get(key.index, key.variant)

    def video_keys(self, start: int | None = None, end: int | None = None) -> Iterator[VideoKey]:
        """Every video of [start, end) (default: the range), each scene followed by its camera variants."""
        return video_keys(
            self.start if start is None else start, self.end if end is None else end, self.camera_variants
        )

    def video_count(self) -> int:
        return (self.end - self.start) * self.camera_variants

    def output_dir(self) -> Path:
        """The dataset's root folder: absolute after `parse_job`; chunks on other machines get the same path."""
        return Path(self.output)

    def shard_grid(self) -> ShardGrid:
        return ShardGrid(self.hf_shard_size)

    def config_dir(self) -> Path:
        """Where this config's videos and metadata live: the root for the default config, else a subfolder."""
        return self.output_dir() / config_folder(self.config)

    def identity(self) -> DatasetIdentity:
        """What the dataset records about this job's videos: recipe source and the settings that decide pixels."""
        source = self.source()
        if isinstance(source, FileSource):
            recipes: dict[str, Any] = {"combinations_sha256": source.digest}
        else:
            recipes = {"seed": self.seed, "combiner": self.combiner.model_dump(mode="json")}
        if self.camera_variants > 1:  # recorded only when asked for, so datasets without variants keep their identity
            recipes["camera_variants"] = self.camera_variants
        return DatasetIdentity(recipes=recipes, render=self.render.cache_dict())

    def sized_for(self, render_workers: int) -> RangeJob:
        """This job with its chunk size fixed: as asked, or the range spread evenly over the render workers
        (one chunk each when they are few, so no worker queues tiny chunk runs behind another)."""
        if self.chunk_size is not None:
            return self
        if self.hf_layout == "parquet" and not self.dry_run:  # one shard per chunk: no two chunks write one shard
            return self.model_copy(update={"chunk_size": self.hf_shard_size})
        largest = AUTO_DRY_CHUNK_MAX if self.dry_run else AUTO_CHUNK_MAX
        size = min(largest, math.ceil((self.end - self.start) / max(1, render_workers)))
        return self.model_copy(update={"chunk_size": max(1, size)})

    def _size(self) -> int:
        if self.chunk_size is None:
            raise ValueError("chunk_size is unset: size the job for the farm first (RangeJob.sized_for)")
        return self.chunk_size

    def _first_edge(self) -> int:
        """Where the first chunk ends: one size on, or in the Parquet layout the next line of the shard grid, so a
        chunk covers whole shards (but the range's ends) and no two chunks of a range ever write one shard."""
        size = self._size()
        if self.hf_layout == "parquet" and not self.dry_run:
            return (self.start // size + 1) * size
        return self.start + size

    def chunks(self) -> Iterator[tuple[int, int]]:
        """The chunks' [start, end) in order, made as they are asked for: a range of any length costs no memory."""
        size, edge = self._size(), self._first_edge()  # here, not on the first next(): an unset size fails now
        rest = ((a, min(self.end, a + size)) for a in range(edge, self.end, size))
        return itertools.chain([(self.start, min(self.end, edge))], rest)

    def chunk_count(self) -> int:
        edge = self._first_edge()
        return 1 + (-(-(self.end - edge) // self._size()) if self.end > edge else 0)  # integers: exact for any index

    def chunk_of(self, index: int) -> tuple[int, int]:
        """The [start, end) of the chunk that holds `index`."""
        size, edge = self._size(), self._first_edge()
        if index < edge:
            return self.start, min(self.end, edge)
        first = edge + (index - edge) // size * size
        return first, min(self.end, first + size)


def flow_fields() -> dict[str, Any]:
    """The flow's parameters: RangeJob's fields with the render and combiner knobs flattened in."""
    return flat_fields(RangeJob, NESTED)


@lru_cache(maxsize=8)
def _cached_file_source(location: str, clip: Clip) -> CombinationSource:
    return load_file_source(location, clip, internal_endpoint=load_settings().simian_flow_internal_urls)


def _parameter_name(path: str) -> str:
    """'render.width' -> "parameter 'width'": users set flat parameters."""
    if path == "(top level)":
        return "parameters"
    return f"parameter '{path.split('.', 1)[1] if path.split('.')[0] in NESTED else path}'"


def parse_job(parameters: dict[str, Any]) -> RangeJob:
    """Validate flow parameters; any problem names the parameter and the fix."""
    try:
        given = {k: v for k, v in parameters.items() if v is not None or k in {"seed", "combinations"}}
        job = RangeJob.from_parameters(given)
    except ValidationError as exc:
        raise invalid_input(exc, name=_parameter_name, sep="; ") from None
    if job.combinations is None and job.seed is None:
        raise InvalidInputError("parameter 'seed': set a seed or a combinations file")
    check_config_name(job.config)
    settings = load_settings()
    updates: dict[str, Any] = {"output": str(confine_output(job.output, settings))}
    if job.timeout_s is None:
        updates["timeout_s"] = settings.simian_render_timeout_s
    if job.hf_repo_id is None and settings.hf_repo_id and settings.hf_token is not None:
        updates["hf_repo_id"] = settings.hf_repo_id
    if job.combinations is not None and not job.combinations.startswith(("http://", "https://")):
        updates["combinations"] = str(resolve_project_path(job.combinations, settings))
    job = job.model_copy(update=updates)
    source = job.source()
    if job.end > len(source):
        raise InvalidInputError(
            f"parameter 'end': {job.end} is past the end of {source.describe()}, which holds {len(source)} "
            f"combinations; use end <= {len(source)}"
        )
    return job


def claim_dataset(job: RangeJob) -> None:
    """Before anything renders on this machine: the output is confined, and the dataset folder records this
    job's identity for its config (or refuses). A dry run checks without writing."""
    settings = load_settings()
    confine_output(job.output, settings)
    claim_local(job.output_dir(), job.config, job.identity(), settings.simian_cache_dir / "locks", not job.dry_run)


def refuse_unlicensed_range(job: RangeJob) -> None:
    """Before anything is submitted: with an allow-list, every asset of the range has an allowed licence, or the run
    fails naming each one that has not (Objaverse licences come from the dataset's annotations)."""
    if job.licenses is None:
        return
    from simian.combine.sources import refuse_unlicensed
    from simian.recipe.assets import AssetResolver

    refuse_unlicensed(job.source(), job.start, job.end, job.licenses, AssetResolver(load_settings()))
