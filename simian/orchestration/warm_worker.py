"""The `simian` worker type: flow runs forked from a warm process instead of a fresh interpreter.

Prefect's process worker starts every flow run as `python -m prefect.engine`, which pays 5-8 s
importing Prefect, the flows and their libraries, then copies the deployment's folder into a
temporary directory ("Downloading flow code from storage"), for a chunk run that may do 0.6 s
of work. This worker keeps Prefect's worker loop, cancellation and crash reporting as they are
and changes only how the flow run's process starts: it is forked from a single-threaded
forkserver that imported Prefect, Simian and the flows once when the worker started, and it
imports the flow from the installed package (no storage copy). Pools of type `simian` (what
`simian init` creates) pick this class: the user's command stays `prefect worker start --pool gpu`.

A render worker (any pool but the control pool) also starts a render service
(`simian.render.service`), its child in its process group: the warm Blender child lives there, across
chunk runs, which reach it through SIMIAN_RENDER_SERVICE in their environment.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from prefect.runner._flow_run_executor import FlowRunExecutionResult, FlowRunExecutorContext
from prefect.runner._process_manager import ProcessHandle
from prefect.settings import get_current_settings
from prefect.utilities.processutils import sanitize_subprocess_env
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

from simian.orchestration.names import CONTROL_POOL
from simian.render.service import SOCKET_ENV

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from prefect.client.schemas.objects import FlowRun
    from prefect.runner._control_channel import ControlChannel

logger = logging.getLogger(__name__)

#: Modules the forkserver imports once, so a forked flow run finds them loaded.
PRELOAD = ["simian.orchestration.warm_preload"]

_forkserver: multiprocessing.context.ForkServerContext | None = None


def _preloaded() -> None:
    """A forked child that does nothing: it can only start once the forkserver has imported PRELOAD."""


def forkserver() -> multiprocessing.context.ForkServerContext:
    """This process's forkserver context, its server started (and warmed) on first use."""
    global _forkserver
    if _forkserver is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        started = time.monotonic()
        # Started here, while the caller waits, so that the first flow run finds it warm. The server imports
        # PRELOAD after `ensure_running` returns; a first child waits for that (it cost the first flow run 2 s).
        multiprocessing.forkserver.ensure_running()
        first = context.Process(target=_preloaded, name="forkserver-warm-up")
        first.start()
        first.join()
        logger.info("flow-run forkserver ready in %.1f s", time.monotonic() - started)
        _forkserver = context
    return _forkserver


def run_forked_flow_run(flow_run_id: str, env: dict[str, str], cwd: str) -> None:
    """The forked child: what `python -m prefect.engine` does, in a process that already imported it.

    The environment is replaced by the flow run's and Prefect's settings are rebuilt from it, as a
    fresh interpreter would read them; exit handlers run before the fork's `os._exit` so logs and
    events still reach the API.
    """
    from uuid import UUID

    from prefect._internal.control_listener import configure_from_env
    from prefect.context import SettingsContext, get_settings_context
    from prefect.engine import _drive_run_flow_result, handle_engine_signals
    from prefect.flow_engine import flow_run_logger, load_flow_run, run_flow
    from prefect.flows import load_flow_from_flow_run
    from prefect.settings import Settings
    from prefect.utilities.asyncutils import run_coro_as_sync

    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    run_id = UUID(flow_run_id)
    try:
        with SettingsContext(profile=get_settings_context().profile, settings=Settings()):
            configure_from_env()
            with handle_engine_signals(run_id):
                flow_run = load_flow_run(flow_run_id=run_id)
                run_logger = flow_run_logger(flow_run=flow_run)
                try:
                    # The flows are installed with the package: import them, copy nothing.
                    flow = run_coro_as_sync(
                        load_flow_from_flow_run(flow_run, ignore_storage=True, use_placeholder_flow=False)
                    )
                except Exception:
                    run_logger.error("Unexpected exception encountered when trying to load flow", exc_info=True)
                    raise
                # Prefect's own engine passes the run logger's adapter here too.
                result: object = run_flow(flow, flow_run=flow_run, error_logger=run_logger)  # type: ignore[arg-type]
                _drive_run_flow_result(flow, result)  # async or generator flows; a no-op for ours
    finally:
        atexit._run_exitfuncs()


class RenderServiceProcess:
    """The worker's render service: started with the worker, started again if it died, stopped with it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="simian-render-"))  # 0700: only this user reaches the socket
        self.socket = self.folder / "render.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def ensure_running(self) -> bool:
        """Start the service unless it runs; True when it was (re)started now."""
        if self.process is not None and self.process.poll() is None:
            return False
        if self.process is not None:
            logger.warning("render service exited (status %s); starting it again", self.process.returncode)
        self.folder.mkdir(mode=0o700, exist_ok=True)  # a service stopped by SIGTERM removed it
        self.socket.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "simian.render.service",
            "--socket",
            str(self.socket),
            "--parent",
            str(os.getpid()),
        ]
        # PR_SET_PDEATHSIG follows the starting thread: asked for only when that thread lives as long as we do.
        if threading.current_thread() is threading.main_thread():
            argv.append("--die-with-parent-thread")
        self.process = subprocess.Popen(argv)  # same process group: `simian down` stops it with the worker
        return True

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until the socket exists (a flow run started before would render in its own process)."""
        deadline = time.monotonic() + timeout_s
        while not self.socket.exists() and time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                logger.warning("render service exited at start (status %s)", self.process.returncode)
                return
            await anyio.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


class ForkedEngineStarter:
    """Starts a flow run as a child of the forkserver, with the environment Prefect's engine command gets."""

    def __init__(self, *, cwd: Path, env: dict[str, str | None], control_channel: ControlChannel | None) -> None:
        self._cwd = cwd
        self._env = env
        self._control_channel = control_channel

    def _environment(self, flow_run: FlowRun, control_env: dict[str, str]) -> dict[str, str]:
        env: dict[str, str | None] = {**os.environ, **self._env}
        env.update(get_current_settings().to_environment_variables(exclude_unset=True))
        env.update(
            {
                "PREFECT__FLOW_RUN_ID": str(flow_run.id),
                "PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS": "false",
                **control_env,
            }
        )
        return {k: v for k, v in sanitize_subprocess_env(env).items() if v is not None}

    async def start(
        self, flow_run: FlowRun, task_status: anyio.abc.TaskStatus[ProcessHandle] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        control_env: dict[str, str] = {}
        registered = False
        if self._control_channel is not None:
            with contextlib.suppress(RuntimeError):  # no loopback listener: kill-only cancellation
                port, token = self._control_channel.register(flow_run.id)
                control_env = {"PREFECT__CONTROL_PORT": str(port), "PREFECT__CONTROL_TOKEN": token}
                registered = True
        handed_off = False
        try:
            process: BaseProcess = forkserver().Process(
                target=run_forked_flow_run,
                args=(str(flow_run.id), self._environment(flow_run, control_env), str(self._cwd)),
                name=f"flow-run-{flow_run.id}",
            )
            process.start()
            task_status.started(ProcessHandle(process))  # type: ignore[arg-type]
            handed_off = True
            await anyio.wait_readable(process.sentinel)
            process.join()
        except BaseException:
            if registered and not handed_off and self._control_channel is not None:
                self._control_channel.unregister(flow_run.id)
            raise


class WarmProcessWorker(ProcessWorker):
    """Prefect's process worker with flow runs forked from a warm forkserver (see the module docstring)."""

    type = "simian"
    _description = "Runs Simian flow runs as processes forked from a pre-imported server: no interpreter start per run."
    _display_name = "Simian (warm process)"

    _render_service: RenderServiceProcess | None = None

    async def setup(self) -> None:
        if self._work_pool_name != CONTROL_POOL:  # range runs render nothing: no Blender on the control pool
            self._render_service = RenderServiceProcess()
            self._render_service.ensure_running()  # Blender imports bpy while the worker sets up
        await anyio.to_thread.run_sync(forkserver)
        if self._render_service is not None:
            await self._render_service.wait_ready()
        await super().setup()

    async def teardown(self, *exc_info: Any) -> None:
        try:
            await super().teardown(*exc_info)
        finally:
            if self._render_service is not None:
                self._render_service.stop()

    async def _render_env(self) -> dict[str, str]:
        """The flow run's way to the render service (started again first if it died)."""
        if self._render_service is None:
            return {}
        if self._render_service.ensure_running():
            await self._render_service.wait_ready()
        return {SOCKET_ENV: str(self._render_service.socket)}

    async def run(
        self,
        flow_run: FlowRun,
        configuration: ProcessJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> ProcessWorkerResult:
        if configuration._command_configured:  # a command set on the pool or deployment is honoured as is
            return await super().run(flow_run, configuration, task_status)
        if task_status is None:
            task_status = anyio.TASK_STATUS_IGNORED
        directory = (
            tempfile.TemporaryDirectory(suffix="prefect")
            if not configuration.working_dir
            else contextlib.nullcontext(configuration.working_dir)
        )
        execution: FlowRunExecutionResult | None = None
        with directory as working_dir, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            async with FlowRunExecutorContext() as ctx:
                from prefect.flows import load_flow_from_flow_run

                starter = ForkedEngineStarter(
                    cwd=Path(working_dir).resolve(),
                    env={**configuration.env, **await self._render_env()},
                    control_channel=ctx.control_channel,
                )
                executor = ctx.create_executor(
                    flow_run, starter, resolve_flow=load_flow_from_flow_run, propose_submitting=False
                )

                async def execute(*, task_status: anyio.abc.TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
                    nonlocal execution
                    execution = await executor.submit(task_status=task_status)

                async with anyio.create_task_group() as group:
                    handle = await group.start(execute)
                    if handle.pid is None:
                        raise RuntimeError("Flow run process has no PID")
                    task_status.started(handle.pid)
        if execution is None or execution.status_code is None:
            raise RuntimeError("Failed to start flow run process.")
        return ProcessWorkerResult(status_code=execution.status_code, identifier=str(execution.handle.pid))
