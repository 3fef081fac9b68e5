"""The run ledger against a real redis-server: counts that follow every outcome recorded (again), failures kept
beside them, and a dry run's summary made from them without reading the outcomes."""

from __future__ import annotations

import pytest

from simian.combine.variants import VideoKey
from simian.orchestration.fanout import ChunkRun
from simian.orchestration.job import RangeJob
from simian.orchestration.redis_store import RunLedger
from simian.orchestration.summary import summarise_plan

from .services import RedisServer


@pytest.fixture
def ledger(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield RunLedger(server.client(), "run-1", outage_s=5)
    server.stop()


def test_counts_follow_outcomes_recorded_again(ledger):
    ledger.record_many(
        {
            VideoKey(0): {"status": "planned"},
            VideoKey(1): {"status": "cached", "adopted": True},
            VideoKey(2): {"status": "failed", "reason": "boom"},
            VideoKey(2, 1): {"status": "rendered"},
        }
    )
    assert ledger.counts() == {"planned": 1, "cached": 1, "adopted": 1, "failed": 1, "rendered": 1}
    assert ledger.failures() == {VideoKey(2): {"status": "failed", "reason": "boom"}}
    ledger.record(VideoKey(2), {"status": "rendered"})  # a retried chunk rendered it
    ledger.record(VideoKey(2, 1), {"status": "rendered", "published": True})
    ledger.record(VideoKey(2, 1), {"status": "rendered", "published": True})  # the same outcome twice: no change
    assert ledger.counts() == {"planned": 1, "cached": 1, "adopted": 1, "rendered": 2, "published": 1}
    assert ledger.failures() == {}
    assert len(ledger.outcomes()) == 4 and ledger.done_count() == 4
    assert ledger.outcomes_of([VideoKey(0), VideoKey(7)]) == {VideoKey(0): {"status": "planned"}}
    assert ledger.client.ttl(f"{ledger.prefix}:counts") > 0, "the counts expire with the outcomes"


def test_a_dry_run_summary_comes_from_the_counts_and_names_what_no_chunk_recorded(ledger):
    job = RangeJob(start=0, end=10, seed=1, chunk_size=4, dry_run=True)
    ledger.record_many({VideoKey(i): {"status": "planned"} for i in range(4)})
    ledger.record_many({VideoKey(i): {"status": "cached", "adopted": i == 9} for i in (8, 9)})
    ledger.record_many({VideoKey(4): {"status": "cached"}, VideoKey(5): {"status": "failed", "reason": "bad"}})
    crashed = ChunkRun(4, 8, attempt=3, final=None)
    summary = summarise_plan(job, ledger, [crashed], 1.0)
    data = summary.as_dict()
    assert (data["planned"], data["cached"], data["adopted"], data["failed"]) == (4, 3, 1, 3)
    assert data["failure_reasons"] == {
        "5": "bad",
        "6": "no result recorded (chunk 4-8 ended unfinished)",
        "7": "no result recorded (chunk 4-8 ended unfinished)",
    }
    assert data["incomplete_chunks"] == ["4-8 (unfinished after 3 attempts)"]
    assert not summary.ok
    ledger.client.hdel(f"{ledger.prefix}:outcomes", "1")  # an outcome lost in a chunk that completed
    ledger.client.hincrby(f"{ledger.prefix}:counts", "planned", -1)
    lost = summarise_plan(job, ledger, [], 1.0).as_dict()
    assert lost["failure_reasons"]["1"] == "no result recorded (chunk 0-4 ended COMPLETED)"
