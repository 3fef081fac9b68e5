"""Render settings: the knobs that change pixels but are not part of the scene recipe."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simian.errors import InvalidInputError

#: Bump when a change to the renderer changes pixels, so cached results are not reused.
RENDERER_VERSION = "simian-render-2"

Engine = Literal["cycles", "eevee", "workbench"]
Device = Literal["auto", "cpu", "cuda", "optix", "hip"]

ENGINE_IDS: dict[str, str] = {"cycles": "CYCLES", "eevee": "BLENDER_EEVEE", "workbench": "BLENDER_WORKBENCH"}


class RenderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    width: int = Field(default=320, gt=0, le=8192, description="Video width in pixels (even, for yuv420p)")
    height: int = Field(default=180, gt=0, le=8192, description="Video height in pixels (even, for yuv420p)")
    frames: int = Field(default=24, ge=1, le=10000)
    fps: int = Field(default=24, ge=1, le=240)
    engine: Engine = "cycles"
    samples: int = Field(default=8, ge=1, le=65536)
    device: Device = "auto"
    images: bool = Field(default=False, description="Write PNG frames instead of an H.264 video")

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"{value} is odd; H.264 yuv420p needs even sizes, use {value + 1} or {value - 1}")
        return value

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def cache_dict(self) -> dict[str, Any]:
        """What decides the pixels: everything but the device (devices agree within noise)."""
        return self.model_dump(mode="json", exclude={"device"})


def parse_render_settings(**values: Any) -> RenderSettings:
    try:
        return RenderSettings(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {msg} (got {err.get('input')!r})")
        raise InvalidInputError("invalid render settings: " + "; ".join(problems)) from None
