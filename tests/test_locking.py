"""Render locks as leases against a real redis-server: renewal through outages, loss detected, bounded waits,
and a release that never breaks Prefect's transaction stack."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import redis
from prefect.locking.protocol import LockManager

from simian.orchestration.locking import (
    LockRedisUnavailableError,
    LockWaitTimeoutError,
    RedisLeaseLockManager,
)

from .services import RedisServer, wait_for

pytestmark = [pytest.mark.services]


@pytest.fixture
def server(tmp_path: Path):
    redis_server = RedisServer(tmp_path / "redis").start()
    yield redis_server
    redis_server.stop()


class LostLeases:
    def __init__(self) -> None:
        self.keys: list[tuple[str, float]] = []

    def __call__(self, key: str) -> None:
        self.keys.append((key, time.monotonic()))


def manager(server: RedisServer, **options) -> RedisLeaseLockManager:  # type: ignore[no-untyped-def]
    return RedisLeaseLockManager(f"redis://127.0.0.1:{server.port}/0", **options)


def test_implements_prefects_lock_manager_protocol(server):
    assert isinstance(manager(server), LockManager)


def test_second_holder_waits_a_bounded_time_then_gets_the_lock_after_release(server):
    locks, other_machine = manager(server, lease_s=10), manager(server, lease_s=10, acquire_wait_s=1.0)
    assert locks.acquire_lock("k", "holder-a")
    assert locks.is_locked("k") and locks.is_lock_holder("k", "holder-a")
    began = time.monotonic()
    with pytest.raises(LockWaitTimeoutError, match="still held by another render"):
        other_machine.acquire_lock("k", "holder-b")
    assert 0.9 < time.monotonic() - began < 3
    assert other_machine.acquire_lock("k", "holder-b", acquire_timeout=0) is False
    locks.release_lock("k", "holder-a")
    assert other_machine.acquire_lock("k", "holder-b", acquire_timeout=0)
    other_machine.release_lock("k", "holder-b")
    assert not locks.is_locked("k")


def test_a_lease_outlives_its_length_while_renewed_and_lapses_when_its_holder_stops(server):
    lost = LostLeases()
    locks = manager(server, lease_s=3, on_lease_lost=lost)
    locks.acquire_lock("k", "holder-a")
    time.sleep(7)
    assert server.client().get("lock:k") == b"holder-a"
    assert 0 < server.client().pttl("lock:k") <= 3000
    assert lost.keys == []
    # A holder that dies stops renewing: a fixed hold is what a dead process leaves behind.
    other = manager(server, lease_s=3)
    assert other.acquire_lock("dead", "holder-x", hold_timeout=2)
    time.sleep(2.5)
    assert not other.is_locked("dead")


def test_renewal_rides_out_a_redis_restart_without_persistence(server):
    lost = LostLeases()
    locks = manager(server, lease_s=6, on_lease_lost=lost)
    locks.acquire_lock("k", "holder-a")
    server.shutdown_nosave()
    time.sleep(2.5)  # renewals fail meanwhile and are retried every second
    server.start()
    assert server.client().get("lock:k") is None, "a Redis without persistence forgets the lock"
    wait_for(lambda: server.client().get("lock:k") == b"holder-a", 8, "the holder to re-take its lease")
    assert lost.keys == []
    locks.release_lock("k", "holder-a")
    assert not locks.is_locked("k")


def test_a_result_written_after_the_lease_ran_out_during_an_outage_waits_for_redis(server):
    """A render finished while Redis restarted, for longer than its lease: writing its result asks whether the
    lock is still ours, and that question waits for Redis instead of failing at the lease's end (which rolled the
    finished render back). Once Redis answers, its answer decides: the lapsed lock is free."""
    locks = manager(server, lease_s=3, redis_outage_s=30)
    locks.acquire_lock("k", "holder-a")
    server.shutdown_nosave()
    restart = threading.Timer(6.0, server.start)  # away for twice the lease
    restart.start()
    try:
        began = time.monotonic()
        assert not locks.is_locked("k"), "a Redis without persistence forgot the lapsed lock"
        assert time.monotonic() - began > 5, "the answer came from Redis once it was back"
        assert not locks.is_lock_holder("k", "holder-a")
    finally:
        restart.join()
    locks.release_lock("k", "holder-a")


def test_lease_taken_by_another_holder_is_reported_lost_within_a_renewal_period(server):
    lost = LostLeases()
    locks = manager(server, lease_s=3, on_lease_lost=lost)
    locks.acquire_lock("k", "holder-a")
    server.client().set("lock:k", b"intruder", px=20_000)
    changed = time.monotonic()
    wait_for(lambda: lost.keys, 5, "the lease to be reported lost")
    assert lost.keys[0][0] == "k" and lost.keys[0][1] - changed <= 1.0 + 3
    locks.release_lock("k", "holder-a")  # never raises, never deletes the other holder's lock
    assert server.client().get("lock:k") == b"intruder"


def test_lease_is_lost_before_it_can_lapse_when_redis_stays_away(server):
    lost = LostLeases()
    locks = manager(server, lease_s=4, on_lease_lost=lost)
    locks.acquire_lock("k", "holder-a")
    acquired = time.monotonic()
    server.shutdown_nosave()
    wait_for(lambda: lost.keys, 8, "the lease to be given up")
    assert lost.keys[0][1] - acquired < 4, "reported lost before the lease could have expired in Redis"
    began = time.monotonic()
    locks.release_lock("k", "holder-a")  # Redis is down: logged, not raised
    assert time.monotonic() - began < 7


def test_unanswering_redis_times_out_instead_of_hanging():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        locks = RedisLeaseLockManager(
            f"redis://127.0.0.1:{port}/0", socket_timeout_s=0.5, redis_outage_s=2.0, acquire_wait_s=30
        )
        began = time.monotonic()
        with pytest.raises(LockRedisUnavailableError, match="unreachable"):
            locks.acquire_lock("k", "holder-a")
        assert time.monotonic() - began < 6
        with pytest.raises(redis.TimeoutError):
            locks.is_locked("k")


def test_an_abandoned_lease_of_the_same_thread_is_handed_over_not_waited_for(server):
    locks = manager(server, lease_s=10, acquire_wait_s=1.0)
    locks.acquire_lock("k", "abandoned")  # a transaction whose begin failed after locking
    assert locks.acquire_lock("k", "retry")
    assert server.client().get("lock:k") == b"retry"
    # Another thread's lease is a real holder: it is waited for.
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(_try(locks, "k", "other-thread")))
    thread.start()
    thread.join()
    assert isinstance(result[0], LockWaitTimeoutError)


def _try(locks: RedisLeaseLockManager, key: str, holder: str) -> object:
    try:
        return locks.acquire_lock(key, holder)
    except LockWaitTimeoutError as exc:
        return exc


def test_a_task_failing_after_its_lock_was_lost_is_retried_and_later_results_are_written(server, tmp_path, monkeypatch):
    """The cause of results missing from Redis after a Redis blip: a task failed while its lock was gone (Redis
    had restarted), the lock release in the transaction's rollback raised LockNotOwnedError, which replaced the
    task's own error (so it was not retried) and left the failed transaction installed as the parent of every
    later task run of the process; those then showed Completed but their results were never written."""
    from prefect import flow, task
    from prefect.cache_policies import INPUTS
    from prefect.testing.utilities import prefect_test_harness
    from prefect_redis.blocks import RedisDatabase

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    locks = manager(server, lease_s=30)
    client = server.client()
    blips: list[int] = []

    @task(
        persist_result=True,
        result_serializer="json",
        retries=1,
        retry_condition_fn=lambda task, run, state: _raises(state, ConnectionError),
    )
    def step(n: int) -> dict[str, int]:
        if n == 0 and not blips:
            blips.append(n)
            for key in client.scan_iter("lock:*"):
                client.delete(key)  # what a Redis restart without persistence does to the lock
            raise ConnectionError("Redis went away mid-task")
        return {"n": n}

    @flow
    def steps() -> list[str]:
        policy = INPUTS.configure(lock_manager=locks, isolation_level="SERIALIZABLE")
        run = step.with_options(cache_policy=policy, result_storage=RedisDatabase.load("results"))
        return [run(n, return_state=True).name for n in range(4)]

    with prefect_test_harness(server_startup_timeout=120):
        RedisDatabase.register_type_and_schema()
        RedisDatabase(host="127.0.0.1", port=server.port).save("results", overwrite=True)
        states = steps()
    assert states == ["Completed"] * 4, states
    assert blips == [0], "the first task failed once and was retried"
    results = [key for key in client.scan_iter("*") if not key.startswith(b"lock:")]
    assert len(results) == 4, f"every result written to Redis, found {results}"
    assert not list(client.scan_iter("lock:*")), "every lock released"


def _raises(state, kind: type[BaseException]) -> bool:  # type: ignore[no-untyped-def]
    try:
        state.result()
    except kind:
        return True
    except Exception:
        return False
    return False
