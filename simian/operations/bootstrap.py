"""`simian init`: everything the server needs before the first run, idempotent.

Creates the work pools, the global concurrency limits, the Redis result-storage block, the
farm id (in Redis and in Prefect, so machines reaching another Redis are refused) and the
automation that marks silent (zombie) flow runs as Crashed so their chunks are re-run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectNotFound

from simian.orchestration.names import (
    COMMIT_LIMIT,
    CONTROL_POOL,
    RENDER_LIMIT,
    RENDER_POOL,
    RESULT_BLOCK,
    RESULT_BLOCK_TYPE,
    ZOMBIE_AUTOMATION,
)
from simian.orchestration.redis_store import (
    FarmResultStorage,
    check_redis,
    redis_connection_params,
    register_farm,
)
from simian.orchestration.warm_worker import WarmProcessWorker
from simian.settings import Settings

logger = logging.getLogger(__name__)

#: Flow runs send a heartbeat this often (seconds; Prefect's minimum is 30).
HEARTBEAT_S = 30
#: A running flow run silent for this long is marked Crashed.
ZOMBIE_AFTER_S = 75


def _ensure_pool(client: SyncPrefectClient, name: str, description: str) -> None:
    try:
        pool = client.read_work_pool(name)
        logger.info("work pool %s exists", name)
        if pool.type != WarmProcessWorker.type:
            logger.warning(
                "work pool %s has type %r: its flow runs start a fresh interpreter each (5-8 s); "
                "delete it (prefect work-pool delete %s) and run simian init to get type %r",
                name,
                pool.type,
                name,
                WarmProcessWorker.type,
            )
    except ObjectNotFound:
        client.create_work_pool(
            WorkPoolCreate(
                name=name,
                type=WarmProcessWorker.type,
                description=description,
                base_job_template=WarmProcessWorker.get_default_base_job_template(),
            )
        )
        logger.info("created work pool %s", name)


def _ensure_zombie_automation(client: SyncPrefectClient, after_s: int) -> None:
    for existing in client.read_automations_by_name(ZOMBIE_AUTOMATION):
        client.delete_automation(existing.id)
    automation = AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description="Marks flow runs Crashed when their heartbeats stop (a render machine died), "
        "so the range run re-submits their chunk.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=after_s),
        ),
        actions=[
            ChangeFlowRunState(
                name=None,
                force=False,
                state=StateType.CRASHED,
                message=f"No heartbeat for {after_s} s: the machine running this flow run is gone.",
            )
        ],
    )
    client.create_automation(automation)
    logger.info("automation %r: zombie runs are marked Crashed after %d s of silence", ZOMBIE_AUTOMATION, after_s)


def save_result_block(settings: Settings) -> None:
    FarmResultStorage.register_type_and_schema()
    FarmResultStorage(**redis_connection_params(settings)).save(RESULT_BLOCK, overwrite=True)
    logger.info("saved result storage block %s/%s -> %s", RESULT_BLOCK_TYPE, RESULT_BLOCK, settings.redis_display())


def commit_rate_limit(commits_per_hour: int) -> tuple[int, float]:
    """Slots and decay of the farm's Hub commit limit: a token bucket allowing at most `commits_per_hour`
    commits in any hour (a burst of a tenth, then the rest spread over the hour).

    A denied client waits a whole slot period (or more) before asking again, so a one-slot limit lets
    through only about two thirds of its decay rate; the burst keeps freed slots for the next asker.
    """
    burst = max(1, commits_per_hour // 10)
    return burst, max(commits_per_hour - burst, 1) / 3600


def init_prefect(
    settings: Settings,
    render_slots: int = 1,
    commits_per_hour: int = 100,
    zombie_after_s: int = ZOMBIE_AFTER_S,
) -> None:
    """Idempotent: safe to run on every `simian up` and after changing the farm size."""
    check_redis(settings)
    with get_client(sync_client=True) as client:
        _ensure_pool(client, RENDER_POOL, "Render machines: `prefect worker start --pool gpu --limit 1` per GPU")
        _ensure_pool(client, CONTROL_POOL, "Range runs: fan out and wait, never hold a render slot")
        client.upsert_global_concurrency_limit_by_name(RENDER_LIMIT, render_slots)
        logger.info("concurrency limit %s: %d render slots", RENDER_LIMIT, render_slots)
        burst, decay = commit_rate_limit(commits_per_hour)
        client.upsert_global_concurrency_limit_by_name(COMMIT_LIMIT, burst, slot_decay_per_second=decay)
        logger.info(
            "rate limit %s: at most %d Hub commits in any hour (burst %d, decay %.4f/s)",
            COMMIT_LIMIT,
            commits_per_hour,
            burst,
            decay,
        )
        _ensure_zombie_automation(client, zombie_after_s)
    save_result_block(settings)
    farm_id = register_farm(settings)
    logger.info("farm id %s recorded in Redis at %s and in Prefect", farm_id, settings.redis_display())
