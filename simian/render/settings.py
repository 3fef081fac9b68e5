"""Render settings: the knobs that change pixels but are not part of the scene recipe.

Defined once here; the CLI flags, the flow parameters and their help text all derive from these fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator

from simian.errors import invalid_input

Engine = Literal["cycles", "eevee", "workbench"]
Device = Literal["auto", "cpu", "cuda", "optix", "hip"]

ENGINE_IDS: dict[str, str] = {"cycles": "CYCLES", "eevee": "BLENDER_EEVEE", "workbench": "BLENDER_WORKBENCH"}

#: Marks a field the command line offers but range runs do not (their dataset layout is videos).
CLI_ONLY: dict[str, JsonValue] = {"cli_only": True}


class RenderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    width: int = Field(default=320, gt=0, le=8192, description="Video width in pixels, even (yuv420p), 2-8192")
    height: int = Field(default=180, gt=0, le=8192, description="Video height in pixels, even (yuv420p), 2-8192")
    frames: int = Field(default=24, ge=1, le=10000, description="Frames per video, 1-10000")
    fps: int = Field(default=24, ge=1, le=240, description="Frames per second, 1-240")
    engine: Engine = Field(default="cycles", description="Blender render engine")
    samples: int = Field(default=8, ge=1, le=65536, description="Samples per pixel (Cycles, EEVEE), 1-65536")
    device: Device = Field(
        default="auto", description="Render device; auto picks OptiX, then CUDA, then HIP, then the CPU"
    )
    images: bool = Field(
        default=False,
        description="Write PNG frames into a folder instead of an H.264 video",
        json_schema_extra=CLI_ONLY,
    )

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
        raise invalid_input(exc, "invalid render settings", name=str, sep="; ") from None
