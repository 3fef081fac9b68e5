"""Rendering facade: everything callers need, nothing about queues, uploads or dataset layout."""

from simian.render.fingerprint import renderer_fingerprint
from simian.render.outputs import ensure_writable_dir
from simian.render.render_settings import RenderSettings, parse_render_settings
from simian.render.renderer import (
    RenderAbortedError,
    RenderCrashError,
    Renderer,
    RenderError,
    RenderFacts,
    RenderFailedError,
    RenderResult,
    RenderTimeoutError,
)

__all__ = [
    "RenderAbortedError",
    "RenderCrashError",
    "RenderError",
    "RenderFacts",
    "RenderFailedError",
    "RenderResult",
    "RenderSettings",
    "RenderTimeoutError",
    "Renderer",
    "ensure_writable_dir",
    "parse_render_settings",
    "renderer_fingerprint",
]
