"""The per-combination render task: cached in Redis, locked across machines, retried when transient."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import redis
from prefect import Task, task
from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger
from prefect.results import ResultRecord
from prefect.states import State
from prefect.tasks import exponential_backoff

from simian.assets.licenses import refuse
from simian.combine.variants import VideoKey
from simian.dataset import FolderSink
from simian.dataset.layout import stem
from simian.errors import AssetFetchError, shorten
from simian.orchestration.job import RangeJob
from simian.orchestration.locking import RedisLeaseLockManager
from simian.orchestration.redis_store import FarmResultStorage, plain_json_record, result_storage_block
from simian.recipe.assets import AssetResolver, check_assets
from simian.recipe.combination import Combination
from simian.render import Renderer, RenderError, renderer_fingerprint
from simian.render.service import RenderClient, connect
from simian.settings import Settings, load_settings

_PACKAGE = Path(__file__).resolve().parents[1]
_renderer: Renderer | RenderClient | None = None
_resolver: AssetResolver | None = None
_renderer_lock = threading.Lock()  # two combinations in flight may ask for the renderer at once


def asset_resolver(settings: Settings) -> AssetResolver:
    """One asset resolver per flow-run process: its clients keep what they loaded (Objaverse's paths, annotations)."""
    global _resolver
    if _resolver is None:
        _resolver = AssetResolver(settings)
    return _resolver


def warm_renderer(settings: Settings, timeout_s: float) -> Renderer | RenderClient:
    """The flow-run process's renderer, reused by every task it runs: a client of the worker's render service
    (whose Blender child stays warm across chunk runs), or, without one (a plain process worker), a warm
    Blender child of this process, started by the first render (a fully cached chunk starts none). That child
    dies with the thread that started it (PR_SET_PDEATHSIG): a chunk's threads live until the chunk ends,
    when it is closed anyway."""
    global _renderer
    with _renderer_lock:
        return _warm_renderer(settings, timeout_s)


def _warm_renderer(settings: Settings, timeout_s: float) -> Renderer | RenderClient:
    global _renderer
    if isinstance(_renderer, RenderClient) and _renderer.broken:
        _renderer = None  # the service went away: connect again (the worker restarts it) or render here
    if _renderer is None:
        _renderer = connect(
            timeout_s=timeout_s,
            cache_dir=settings.simian_cache_dir,
            resolve_assets=asset_resolver(settings),
            events_path=settings.simian_render_events,
        )
    if _renderer is None:
        _renderer = Renderer(
            timeout_s=timeout_s,
            cache_dir=settings.simian_cache_dir,
            resolve_assets=asset_resolver(settings),
            events_path=settings.simian_render_events,
        )
    _renderer.timeout_s = timeout_s
    return _renderer


def abort_render(lock_key: str) -> None:
    """The render lock's lease was lost: stop the render it protects, so one key never renders twice at once
    (the lock's key is the render's cache key, its tag)."""
    if _renderer is not None:
        _renderer.abort(f"the render lock {lock_key[:40]} was lost", tag=lock_key)


def close_renderer() -> None:
    """End this chunk run's use of the renderer: a client disconnects (the service's Blender stays warm), an
    in-process Blender child stops."""
    global _renderer
    if _renderer is not None:
        _renderer.close()
        _renderer = None


def render_cache_key(job: RangeJob, combination: Combination) -> str:
    """Normalised recipe + render settings + renderer version + where the output goes."""
    payload = {
        "combination": combination.model_dump(mode="json"),
        "settings": job.render.cache_dict(),
        "renderer": renderer_fingerprint(),
        "sink": FolderSink(job.config_dir()).identity(),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"simian-render-{digest}"


class RenderCachePolicy(CachePolicy):
    def compute_key(
        self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        job = inputs["job"] if isinstance(inputs["job"], RangeJob) else RangeJob(**inputs["job"])
        return render_cache_key(job, job.combination(VideoKey(int(inputs["index"]), int(inputs.get("variant", 0)))))


def _task_run_name(parameters: dict[str, Any]) -> str:
    """render-00000007, and render-00000007-v1 for a camera variant."""
    return f"render-{stem(int(parameters['index']), int(parameters.get('variant', 0)))}"


def is_transient(task: Task[..., Any], task_run: Any, state: State[Any]) -> bool:
    """Retry Blender crashes, timeouts, network and Redis blips; never invalid input."""
    try:
        state.result()
    except RenderError as exc:
        return exc.transient
    except (AssetFetchError, redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError):
        return True
    except Exception:
        return False
    return False


@task(
    name="render-combination",
    task_run_name=cast(Any, _task_run_name),  # Prefect passes `parameters` to a callable that takes them
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient,
    persist_result=True,
    result_serializer="json",
)
def render_combination(index: int, job: RangeJob, range_run_id: str, variant: int = 0) -> dict[str, Any]:
    """Render one combination (scene `index` under camera `variant`) into the dataset, or adopt the video the
    dataset already holds for this cache key (a flushed or replaced Redis must never mean rendering a finished
    dataset again)."""
    logger = get_run_logger()
    settings = load_settings()
    key = VideoKey(index, variant)
    combination = job.combination(key)
    check_assets(combination, f"combination {key.label()}")
    resolver = asset_resolver(settings)
    if job.licenses is not None:  # the range run checked already; a file may hold another licence by now
        refuse(resolver.refusals(combination, job.licenses, f"combination {key.label()}"), job.licenses)
    sink = FolderSink(job.config_dir())
    cache_key = render_cache_key(job, combination)
    adopted = sink.adopt(combination, cache_key)
    if adopted is not None:
        logger.info("combination %s: %s is in the dataset for this cache key; adopted", key.label(), adopted.file_name)
        return {
            "index": index,
            "variant": variant,
            "file_name": adopted.file_name,
            "sha256": adopted.sha256,
            "adopted": True,
            "range_run_id": range_run_id,
            "host": socket.gethostname(),
        }
    with sink.scratch() as scratch:
        timeout_s = job.timeout_s if job.timeout_s is not None else settings.simian_render_timeout_s
        result = warm_renderer(settings, timeout_s).render(combination, job.render, scratch, tag=cache_key)
        licenses = resolver.licenses(combination)
        published = sink.publish(combination, job.render, result, cache_key=cache_key, licenses=licenses)
    facts = result.facts
    logger.info(
        "combination %s: %s in %.2f s (Blender %.2f s on %s)",
        key.label(),
        published.file_name,
        facts.total_seconds,
        facts.render_seconds,
        facts.device,
    )
    return {
        "index": index,
        "variant": variant,
        "file_name": published.file_name,
        "sha256": result.sha256,
        "render_seconds": round(facts.render_seconds, 4),
        "total_seconds": round(facts.total_seconds, 4),
        "range_run_id": range_run_id,
        "host": socket.gethostname(),
    }


def configured_render_task(settings: Settings, job: RangeJob) -> Task[..., dict[str, Any]]:
    """The render task wired to this machine's Redis: result storage, leased locks, serialisable.

    The storage block is loaded once here: given as a slug, Prefect would read it from the API on
    every task run (two reads each, most of the cost of a cached combination).
    """
    lock_manager = RedisLeaseLockManager.from_settings(settings, on_lease_lost=abort_render)
    policy = RenderCachePolicy().configure(lock_manager=lock_manager, isolation_level="SERIALIZABLE")
    return render_combination.with_options(cache_policy=policy, result_storage=result_storage_block(settings))


#: How long a memo of cache keys is kept after it was last added to.
RECIPE_KEYS_TTL_S = 30 * 24 * 3600


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """Of every module of the package: a recipe, hence its cache key, may change with any of them."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def recipe_keys_name(job: RangeJob) -> str | None:
    """The Redis hash that remembers the cache keys of this job's videos (label -> key), so a dry run derives a
    recipe once, not once per dry run. Its name holds everything a key depends on besides the index: the seed and
    combiner options, the render settings, the renderer, the dataset folder and this code. None for a combinations
    file, whose assets (files on this machine) are checked on every dry run."""
    if job.combinations is not None:
        return None
    scope = {
        "seed": job.seed,
        "combiner": job.combiner.model_dump(mode="json"),
        "settings": job.render.cache_dict(),
        "renderer": renderer_fingerprint(),
        "sink": FolderSink(job.config_dir()).identity(),
        "code": _code_digest(),
    }
    return "simian:recipe-keys:" + hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:32]


def plan_videos(job: RangeJob, videos: list[VideoKey], storage: FarmResultStorage) -> dict[VideoKey, dict[str, Any]]:
    """Dry run of some videos: their cache keys (the render task's own, `render_cache_key`), from the memo of keys
    or else by deriving and validating each recipe, then looked up in one Redis request, and in the dataset only
    where a sidecar is listed (one folder listing per shard instead of one open per video)."""
    client = storage.get_client()
    memo = recipe_keys_name(job)
    keys: dict[VideoKey, str] = {}
    if memo is not None:
        known = cast(list[bytes | None], client.hmget(memo, [v.label() for v in videos]))
        keys = {v: k.decode() if isinstance(k, bytes) else k for v, k in zip(videos, known, strict=True) if k}
    derived: dict[VideoKey, Combination] = {}
    for video in (v for v in videos if v not in keys):
        combination = derived[video] = job.combination(video)
        check_assets(combination, f"combination {video.label()}")
        keys[video] = render_cache_key(job, combination)
    if memo is not None and derived:
        pipeline = client.pipeline()
        pipeline.hset(memo, mapping={v.label(): keys[v] for v in derived})
        pipeline.expire(memo, RECIPE_KEYS_TTL_S)
        pipeline.execute()
    hits = cached_keys(storage, [keys[v] for v in videos], client)
    sink = FolderSink(job.config_dir())
    listed = _listed_sidecars(sink, [v for v in videos if keys[v] not in hits])
    outcomes: dict[VideoKey, dict[str, Any]] = {}
    for video in videos:
        key, which = keys[video], {"index": video.index, "variant": video.variant}
        if key in hits:
            outcomes[video] = {**which, "status": "cached", "cache_key": key}
        elif video in listed and sink.adopt(derived.get(video) or job.combination(video), key) is not None:
            outcomes[video] = {**which, "status": "cached", "adopted": True, "cache_key": key}
        else:
            outcomes[video] = {**which, "status": "planned", "cache_key": key}
    return outcomes


def cached_keys(storage: FarmResultStorage, keys: list[str], client: redis.Redis | None = None) -> set[str]:
    """Which of these cache keys hold a result the render task would take as a hit, in one MGET: a record that is
    plain JSON (the storage's own check) and not expired, as Prefect's `ResultStore.exists` decides per key."""
    if not keys:
        return set()
    hits = set()
    reader = client or storage.get_client()
    contents = cast(list[bytes | None], reader.mget(keys))  # bytes: the storage's clients do not decode
    for key, content in zip(keys, contents, strict=True):
        if content is None:
            continue
        try:
            record: ResultRecord[Any] = ResultRecord.deserialize(plain_json_record(key, content) or b"")
        except Exception:  # untrusted or unreadable: the render task renders it again, so it is no hit
            continue
        expiration = record.metadata.expiration
        if expiration is None or expiration > datetime.now(UTC):
            hits.add(key)
    return hits


def _listed_sidecars(sink: FolderSink, videos: list[VideoKey]) -> set[VideoKey]:
    """The videos whose sidecar is in the dataset folder, read from one listing of each folder they would be in."""
    where = {v: Path(sink.layout.sidecar(v.index, v.variant)) for v in videos}
    names: dict[Path, set[str]] = {}
    for folder in {path.parent for path in where.values()}:
        try:
            names[folder] = set(os.listdir(sink.root / folder))
        except OSError:  # no such shard yet: nothing to adopt there
            names[folder] = set()
    return {v for v, path in where.items() if path.name in names[path.parent]}


def result_storage() -> FarmResultStorage:
    return result_storage_block(load_settings())


def render_outcome(
    render: Task[..., dict[str, Any]], video: VideoKey, job: RangeJob, range_run_id: str
) -> dict[str, Any]:
    """Run the cached task and say what it came to: rendered (in any attempt of this range run), cached, or
    failed (with the reason). A cache hit whose video is no longer in the dataset folder renders again."""
    state = _run(render, video, job, range_run_id)
    if state.is_completed():
        value = state.result()
        sink = FolderSink(job.config_dir())
        if state.name == "Cached" and not sink.holds(video.index, value["sha256"], variant=video.variant):
            get_run_logger().warning(
                "combination %s: cached, but its video is gone from the dataset; rendering", video.label()
            )
            state = _run(render.with_options(refresh_cache=True), video, job, range_run_id)
            if not state.is_completed():
                return _failed(video, state)
            value = state.result()
        rendered_now = not value.get("adopted") and value.get("range_run_id") == range_run_id
        adopted_now = bool(value.get("adopted")) and state.name != "Cached"
        return {**value, "status": "rendered" if rendered_now else "cached", "adopted": adopted_now}
    return _failed(video, state)


def _run(render: Task[..., dict[str, Any]], video: VideoKey, job: RangeJob, range_run_id: str) -> State[dict[str, Any]]:
    state = render(index=video.index, job=job, range_run_id=range_run_id, variant=video.variant, return_state=True)
    return cast(State[dict[str, Any]], state)


def _failed(video: VideoKey, state: State[Any]) -> dict[str, Any]:
    try:
        state.result()
        reason = state.message or state.name
    except Exception as exc:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    reason = shorten(reason or "failed", 500)
    return {"index": video.index, "variant": video.variant, "status": "failed", "reason": reason}
