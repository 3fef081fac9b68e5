# Simian render worker: one Prefect worker of pool `gpu` per GPU, rendering with bpy (Blender as a module).
#
#   docker build -t simian-worker .
#   docker run -d --gpus all --env-file .env -e SIMIAN_WORKER_LIMIT=1 simian-worker
#
# Settings come from the environment at run time (`--env-file .env`: PREFECT_API_URL, PREFECT_API_AUTH_STRING,
# REDIS_*, HF_*; see .env.example); nothing secret is baked into the image. The same image runs the control
# worker and `simian init` in deployments/compose.yaml, and deployments/worker.compose.yaml runs it on GPU hosts.

# Any Debian bookworm image with CPython 3.11 at `python3` (bpy 5.0 wheels are CPython 3.11 only).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# Shared libraries bpy links or loads that slim Debian lacks: X11 client libraries (linked even when rendering
# headless), libGL/libEGL/libOpenGL through glvnd (EEVEE; with NVIDIA_DRIVER_CAPABILITIES=graphics the
# container toolkit adds the NVIDIA EGL vendor library, and Mesa's software EGL comes with these packages for
# CPU-only hosts). libcuda and OptiX come from the host driver through the NVIDIA container toolkit.
# tini is PID 1: it forwards `docker stop` to the worker and reaps Blender child processes.
# Versions are not pinned (DL3008): bookworm security updates replace old versions on the mirror, which would
# break the build; the Python side, where the rendering code lives, is pinned with hashes below.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        libegl1 \
        libgl1 \
        libice6 \
        libopengl0 \
        libsm6 \
        libx11-6 \
        libxext6 \
        libxfixes3 \
        libxi6 \
        libxkbcommon0 \
        libxrender1 \
        libxt6 \
        libxxf86vm1 \
        tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --no-log-init --create-home --uid 10001 --user-group simian \
    && install -d -o simian -g simian /data

ENV VIRTUAL_ENV=/opt/simian/venv \
    PATH=/opt/simian/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/simian

# Dependencies first, in their own layer: it is large (bpy alone is ~800 MB) and only changes with the lock.
COPY deployments/requirements.lock deployments/requirements.lock
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --require-hashes -r deployments/requirements.lock

# Then the project itself (no dependency resolution: everything is already installed from the lock).
# prefect.yaml stays in the working directory so `prefect deploy --all` runs from here.
COPY pyproject.toml README.md prefect.yaml ./
COPY simian simian
COPY flows flows
COPY deployments/render-worker.sh /usr/local/bin/simian-render-worker
# The sources are removed after the install so that only the installed package can be imported from here.
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build simian.egg-info simian flows \
    && simian --help > /dev/null

# GPU access through the NVIDIA container toolkit: Cycles CUDA/OptiX need compute+utility, EEVEE needs graphics.
# PREFECT_FLOWS_HEARTBEAT_FREQUENCY: flow runs send heartbeats, so the `simian init` automation marks runs of a
#   dead machine Crashed and the range run re-submits their chunk (Prefect's minimum is 30 s).
# PREFECT_WORKER_WEBSERVER_PORT: where --with-healthcheck serves /health (the HEALTHCHECK below reads it).
# SIMIAN_WORKER_LIMIT: concurrent flow runs for this worker (one per GPU; run one container per GPU).
# SIMIAN_OUTPUT_ROOT: relative dataset folders land in /data (mount a volume there).
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30 \
    PREFECT_WORKER_WEBSERVER_PORT=8080 \
    SIMIAN_WORKER_LIMIT=1 \
    SIMIAN_OUTPUT_ROOT=/data

# Numeric, so Kubernetes runAsNonRoot and hosts without this user can check it (user `simian` in the image).
USER 10001:10001

# `prefect worker start --with-healthcheck` (in simian-render-worker) serves /health; it fails when the worker
# stops polling the API. Other roles of this image (the compose files' init) disable or replace it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PREFECT_WORKER_WEBSERVER_PORT', '8080'), timeout=8)"]

ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
# prefect worker start --pool gpu --limit ${SIMIAN_WORKER_LIMIT} --with-healthcheck
CMD ["simian-render-worker"]
