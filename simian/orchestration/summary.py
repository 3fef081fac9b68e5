"""The range run's account of itself: what was rendered, cached, published and what failed, and whether
that adds up to success. The run's final state follows it: anything missing makes the run fail."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import StateType

from simian.combine.variants import VideoKey
from simian.orchestration.contact_sheet import SHEET_TILES, sheet_markdown
from simian.orchestration.fanout import ChunkRun
from simian.orchestration.job import RangeJob
from simian.orchestration.redis_store import RunLedger

logger = logging.getLogger(__name__)


@dataclass
class RangeSummary:
    start: int
    end: int
    dry_run: bool
    output: str
    hub_repo: str | None
    rendered: list[VideoKey] = field(default_factory=list)
    # Counts, not lists: a dry run of a million combinations is summarised without a list of a million keys.
    cached: int = 0
    adopted: int = 0
    planned: int = 0
    failed: dict[VideoKey, str] = field(default_factory=dict)
    published: int = 0
    not_published: list[VideoKey] = field(default_factory=list)
    incomplete_chunks: list[str] = field(default_factory=list)
    finalise_error: str | None = None
    seconds_per_video: float | None = None
    wall_seconds: float = 0.0
    hosts: list[str] = field(default_factory=list)
    videos: int = 0  # scenes of the range times camera variants

    @property
    def ok(self) -> bool:
        return not (self.failed or self.not_published or self.incomplete_chunks or self.finalise_error)

    def problems(self) -> str:
        """One line saying everything that went wrong."""
        parts = []
        if self.failed:
            reasons = "; ".join(f"{k.label()}: {r}" for k, r in list(self.failed.items())[:10])
            parts.append(f"{len(self.failed)} of {self.videos} combinations failed ({reasons})")
        if self.not_published:
            shown = [_shown(k) for k in self.not_published[:20]]
            parts.append(f"{len(self.not_published)} videos not published to {self.hub_repo}: {shown}")
        if self.incomplete_chunks:
            parts.append("chunks not completed: " + ", ".join(self.incomplete_chunks))
        if self.finalise_error:
            parts.append(f"the dataset index was not written: {self.finalise_error}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "ok": self.ok,
            "rendered": len(self.rendered),
            "cached": self.cached,
            "adopted": self.adopted,
            "failed": len(self.failed),
            "planned": self.planned,
            "published": self.published if self.hub_repo else None,
            "not_published": [_shown(k) for k in self.not_published],
            "incomplete_chunks": self.incomplete_chunks,
            "dry_run": self.dry_run,
            "failed_indices": sorted({k.index for k in self.failed}),
            "failure_reasons": {k.label(): reason for k, reason in sorted(self.failed.items())},
            "output": self.output,
            "hub_repo": self.hub_repo,
            "seconds_per_video": self.seconds_per_video,
            "wall_seconds": self.wall_seconds,
            "hosts": self.hosts,
        }


def _shown(key: VideoKey) -> int | str:
    """A video as the summary names it: its index, or '7-v1' for a camera variant."""
    return key.index if key.variant == 0 else key.label()


def _not_recorded(job: RangeJob, key: VideoKey, incomplete: dict[int, ChunkRun]) -> str:
    """Why a video has no outcome: how its chunk ended (a chunk not among the incomplete ones completed)."""
    chunk = incomplete.get(job.chunk_of(key.index)[0]) if job.chunk_size else None
    if chunk is not None:
        ended = f"chunk {chunk.start}-{chunk.end} ended {chunk.final.value if chunk.final else 'unfinished'}"
    elif job.chunk_size:
        first, last = job.chunk_of(key.index)
        ended = f"chunk {first}-{last} ended {StateType.COMPLETED.value}"
    else:
        ended = "no chunk ran it"
    return f"no result recorded ({ended})"


def _new_summary(job: RangeJob, incomplete: list[ChunkRun], elapsed_s: float) -> RangeSummary:
    summary = RangeSummary(job.start, job.end, job.dry_run, str(job.config_dir()), job.hf_repo_id)
    summary.videos = job.video_count()
    summary.wall_seconds = round(elapsed_s, 2)
    for chunk in incomplete:
        if chunk.final != StateType.COMPLETED:
            state = chunk.final.value if chunk.final else "unfinished"
            summary.incomplete_chunks.append(f"{chunk.start}-{chunk.end} ({state} after {chunk.attempt} attempts)")
    return summary


def summarise(
    job: RangeJob,
    outcomes: dict[VideoKey, dict[str, Any]],
    incomplete: list[ChunkRun],
    finalised: dict[str, Any],
    elapsed_s: float,
) -> RangeSummary:
    """The summary of a range from every video's outcome (`job` as the fan-out sized it; `incomplete`: the chunk
    runs that did not complete)."""
    summary = _new_summary(job, incomplete, elapsed_s)
    by_start = {c.start: c for c in incomplete}
    done: list[VideoKey] = []
    for key in job.video_keys():
        outcome = outcomes.get(key)
        status = outcome.get("status") if outcome else None
        if outcome is None or status not in ("rendered", "cached", "planned"):
            summary.failed[key] = (outcome or {}).get("reason") or _not_recorded(job, key, by_start)
            continue
        if status == "rendered":
            summary.rendered.append(key)
        else:
            setattr(summary, status, getattr(summary, status) + 1)
        summary.adopted += bool(outcome.get("adopted"))
        if status != "planned":
            done.append(key)
    if job.hf_repo_id and not job.dry_run:
        missing = set(finalised.get("hub_missing", [])) | {i for i in done if not outcomes[i].get("published")}
        summary.not_published = sorted(missing)
        summary.published = sum(i not in missing for i in done)
    summary.finalise_error = finalised.get("error")
    seconds = [outcomes[i]["total_seconds"] for i in summary.rendered if "total_seconds" in outcomes[i]]
    summary.seconds_per_video = round(sum(seconds) / len(seconds), 3) if seconds else None
    summary.hosts = sorted({outcomes[i].get("host", "?") for i in summary.rendered})
    return summary


def summarise_plan(job: RangeJob, ledger: RunLedger, incomplete: list[ChunkRun], elapsed_s: float) -> RangeSummary:
    """The summary of a dry run from the ledger's counts and failures: no outcome is read unless some video has
    none, and then only those of the chunks that did not complete (or, were outcomes lost, chunk by chunk)."""
    summary = _new_summary(job, incomplete, elapsed_s)
    counts = ledger.counts()
    summary.planned, summary.cached, summary.adopted = (counts.get(s, 0) for s in ("planned", "cached", "adopted"))
    summary.failed = {k: o.get("reason") or "failed" for k, o in sorted(ledger.failures().items())}
    unrecorded = job.video_count() - sum(counts.get(s, 0) for s in ("planned", "cached", "rendered", "failed"))
    if unrecorded > 0:
        by_start = {c.start: c for c in incomplete}
        suspects = [(c.start, c.end) for c in incomplete]
        for first, last in itertools.chain(suspects, (c for c in job.chunks() if c not in suspects)):
            videos = list(job.video_keys(first, last))
            recorded = ledger.outcomes_of(videos)
            for key in (v for v in videos if v not in recorded):
                summary.failed[key] = _not_recorded(job, key, by_start)
                unrecorded -= 1
            if unrecorded <= 0:
                break
    return summary


def write_summary_artifact(summary: RangeSummary, range_run_id: str) -> None:
    """The run's summary table; its key names the run, so ranges with the same bounds never share it."""
    data = summary.as_dict()
    rows = [
        {"what": "result", "value": "complete" if summary.ok else "INCOMPLETE: " + summary.problems()},
        {"what": "rendered", "value": data["rendered"]},
        {"what": "cached (not rendered again)", "value": data["cached"]},
        {"what": "of which adopted from the dataset", "value": data["adopted"]},
        {"what": "failed", "value": data["failed"]},
        {"what": "published to the Hub", "value": "-" if data["published"] is None else data["published"]},
        {"what": "not published", "value": ", ".join(k.label() for k in summary.not_published) or "-"},
        {"what": "would render (dry run)", "value": data["planned"] if summary.dry_run else "-"},
        {"what": "failed videos", "value": ", ".join(k.label() for k in sorted(summary.failed)) or "-"},
        {"what": "chunks not completed", "value": ", ".join(summary.incomplete_chunks) or "-"},
        {"what": "output", "value": summary.output},
        {"what": "seconds per rendered video", "value": summary.seconds_per_video or "-"},
        {"what": "wall seconds", "value": summary.wall_seconds},
        {"what": "render hosts", "value": ", ".join(summary.hosts) or "-"},
    ]
    create_table_artifact(
        rows,
        key=f"simian-range-{summary.start}-{summary.end}-{range_run_id[:8]}",
        description=f"Range [{summary.start}, {summary.end}) of run {range_run_id}",
    )


def contact_sheet_key(start: int, end: int, range_run_id: str) -> str:
    return f"simian-range-{start}-{end}-contact-{range_run_id[:8]}"


def sheet_tiles(job: RangeJob, outcomes: dict[VideoKey, dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, thumbnail) of the range's first `SHEET_TILES` videos in index order that recorded one."""
    tiles = []
    for key in islice(job.video_keys(), SHEET_TILES):
        encoded = (outcomes.get(key) or {}).get("thumbnail")
        if isinstance(encoded, str):
            tiles.append((key.label(), encoded))
    return tiles


def write_contact_sheet_artifact(
    job: RangeJob, outcomes: dict[VideoKey, dict[str, Any]], range_run_id: str
) -> str | None:
    """A markdown artifact beside the summary table: the first frames of the range's first videos in one image
    (a data URI, which the Prefect UI renders). None, and no artifact, when no video has a thumbnail (a dry run,
    everything failed)."""
    markdown = sheet_markdown(sheet_tiles(job, outcomes), job.video_count(), f"[{job.start}, {job.end})")
    if markdown is None:
        logger.info("no first frames to show: no contact sheet for [%d, %d)", job.start, job.end)
        return None
    create_markdown_artifact(
        markdown,
        key=contact_sheet_key(job.start, job.end, range_run_id),
        description=f"First frames of range [{job.start}, {job.end}) of run {range_run_id}",
    )
    return markdown
