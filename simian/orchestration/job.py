"""A range job: every flow parameter in one validated object, checked before any work."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simian.combination_source import CombinationSource, load_file_source, open_source
from simian.combiner import CombinerOptions
from simian.errors import InvalidInputError
from simian.render.settings import RenderSettings, parse_render_settings
from simian.settings import load_settings, resolve_project_path


class RangeJob(BaseModel):
    """What `simian/render-range` was asked to do. Secrets are never part of it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    start: int = Field(ge=0)
    end: int = Field(gt=0, description="Exclusive")
    width: int = 320
    height: int = 180
    frames: int = 24
    fps: int = 24
    engine: Literal["cycles", "eevee", "workbench"] = "cycles"
    samples: int = 8
    device: Literal["auto", "cpu", "cuda", "optix", "hip"] = "auto"
    seed: int | None = 0
    combinations: str | None = Field(default=None, description="Combinations file path or URL (instead of seed)")
    max_objects: int = Field(default=3, ge=1, le=9)
    movement: bool = False
    ontop: bool = False
    camera_follow: bool = False
    random: bool = False
    chunk_size: int = Field(default=4, ge=1, le=10000)
    output: str = Field(default="dataset", min_length=1, description="Local dataset folder")
    timeout_s: float = Field(default=900.0, gt=0, description="Per-combination render timeout")
    hf_repo_id: str | None = Field(
        default=None, description="Hub dataset repo; default HF_REPO_ID when HF_TOKEN is set"
    )
    hf_private: bool = True
    hf_batch_size: int = Field(default=100, ge=1, le=10000, description="Files per Hub commit")
    dry_run: bool = Field(default=False, description="Plan only: cache keys and cache hits, no render, no upload")

    @model_validator(mode="after")
    def _check(self) -> RangeJob:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be greater than start ({self.start}); the range is [start, end)")
        if self.combinations is not None and self.combinations.strip() == "":
            raise ValueError("combinations: empty path; leave it unset to draw from seed")
        return self

    def render_settings(self) -> RenderSettings:
        return parse_render_settings(
            width=self.width,
            height=self.height,
            frames=self.frames,
            fps=self.fps,
            engine=self.engine,
            samples=self.samples,
            device=self.device,
        )

    def combiner_options(self) -> CombinerOptions:
        return CombinerOptions(
            max_objects=self.max_objects,
            movement=self.movement,
            ontop=self.ontop,
            camera_follow=self.camera_follow,
            random=self.random,
        )

    def source(self) -> CombinationSource:
        if self.combinations is not None:
            return _cached_file_source(self.combinations)
        return open_source(seed=self.seed, options=self.combiner_options())

    def output_dir(self) -> Path:
        """Absolute after `parse_job`; chunks on other machines get the same path."""
        return Path(self.output)

    def chunks(self) -> list[tuple[int, int]]:
        count = math.ceil((self.end - self.start) / self.chunk_size)
        return [
            (self.start + k * self.chunk_size, min(self.end, self.start + (k + 1) * self.chunk_size))
            for k in range(count)
        ]


@lru_cache(maxsize=8)
def _cached_file_source(location: str) -> CombinationSource:
    return load_file_source(location)


def parse_job(parameters: dict[str, Any]) -> RangeJob:
    """Validate flow parameters; any problem names the parameter and the fix."""
    try:
        job = RangeJob(**{k: v for k, v in parameters.items() if v is not None or k in {"seed", "combinations"}})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "parameters"
            problems.append(
                f"parameter '{field}': {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})"
            )
        raise InvalidInputError("; ".join(problems)) from None
    if job.combinations is None and job.seed is None:
        raise InvalidInputError("parameter 'seed': set a seed or a combinations file")
    job.render_settings()
    settings = load_settings()
    updates: dict[str, Any] = {"output": str(resolve_project_path(job.output, settings))}
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
