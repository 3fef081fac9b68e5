"""Rendering facade: everything callers need, nothing about queues or uploads."""

from simian.render.outputs import OutputPaths, ensure_writable_dir
from simian.render.renderer import (
    RenderAbortedError,
    RenderCrashError,
    Renderer,
    RenderError,
    RenderFailedError,
    RenderResult,
    RenderTimeoutError,
)
from simian.render.settings import RENDERER_VERSION, RenderSettings, parse_render_settings

__all__ = [
    "RENDERER_VERSION",
    "OutputPaths",
    "RenderAbortedError",
    "RenderCrashError",
    "RenderError",
    "RenderFailedError",
    "RenderResult",
    "RenderSettings",
    "RenderTimeoutError",
    "Renderer",
    "ensure_writable_dir",
    "parse_render_settings",
]
