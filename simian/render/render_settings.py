"""Render settings: the knobs that change pixels but are not part of the scene recipe.

Defined once here; the CLI flags, the flow parameters and their help text all derive from these fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from simian.errors import invalid_input

if TYPE_CHECKING:
    from simian.scene.plan import Clip
from simian.render.presets import PresetName, frame_problem, height_problem, width_problem, with_preset

Engine = Literal["cycles", "eevee", "workbench"]
Device = Literal["auto", "cpu", "cuda", "optix", "hip"]

ENGINE_IDS: dict[str, str] = {"cycles": "CYCLES", "eevee": "BLENDER_EEVEE", "workbench": "BLENDER_WORKBENCH"}

PassName = Literal["depth", "normal", "segmentation", "flow"]
#: Ground-truth passes in their canonical order (the order files and columns are listed in).
PASS_NAMES: tuple[PassName, ...] = ("depth", "normal", "segmentation", "flow")
#: What each engine renders: Blender's workbench has only a depth buffer, and only Cycles renders the
#: object index that segmentation and flow are made from (flow moves each surface with its object).
ENGINE_PASSES: dict[str, tuple[PassName, ...]] = {
    "cycles": PASS_NAMES,
    "eevee": ("depth", "normal"),
    "workbench": ("depth",),
}

#: Marks a field the command line offers but range runs do not (their dataset layout is videos).
CLI_ONLY: dict[str, JsonValue] = {"cli_only": True}


def _shape(default: int) -> dict[str, JsonValue]:
    """A field a preset sets: left unset, it takes the preset's value (else `default`)."""
    return {"unset": f"the preset's value, else {default}"}


class RenderSettings(BaseModel):
    # Strict: a string is not a number, a bool not an int.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    preset: PresetName | None = Field(
        default=None,
        description="Clip shape of a training format (width, height, frames, fps; see `simian presets`); "
        "settings given explicitly override it",
    )
    width: int = Field(
        default=320,
        gt=0,
        le=8192,
        description="Video width in pixels, even (yuv420p), 2-8192",
        json_schema_extra=_shape(320),
    )
    height: int = Field(
        default=180,
        gt=0,
        le=8192,
        description="Video height in pixels, even (yuv420p), 2-8192",
        json_schema_extra=_shape(180),
    )
    frames: int = Field(
        default=24, ge=1, le=10000, description="Frames per video, 1-10000", json_schema_extra=_shape(24)
    )
    fps: int = Field(default=24, ge=1, le=240, description="Frames per second, 1-240", json_schema_extra=_shape(24))
    engine: Engine = Field(default="cycles", description="Blender render engine")
    samples: int = Field(default=8, ge=1, le=65536, description="Samples per pixel (Cycles, EEVEE), 1-65536")
    device: Device = Field(
        default="auto", description="Render device; auto picks OptiX, then CUDA, then HIP, then the CPU"
    )
    passes: tuple[PassName, ...] = Field(
        default=(),
        strict=False,  # a JSON list is a tuple here; its names are checked exactly
        description="Ground-truth passes written beside each video from the same render: depth, normal, "
        "segmentation, flow (Cycles renders all; EEVEE depth and normal; workbench depth)",
    )
    images: bool = Field(
        default=False,
        description="Write PNG frames into a folder instead of an H.264 video",
        json_schema_extra=CLI_ONLY,
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        """A preset sets the clip shape fields that were not given; given ones win."""
        return with_preset(data) if isinstance(data, dict) else data

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"{value} is odd; H.264 yuv420p needs even sizes, use {value + 1} or {value - 1}")
        return value

    @field_validator("passes")
    @classmethod
    def _engine_renders(cls, value: tuple[PassName, ...], info: ValidationInfo) -> tuple[PassName, ...]:
        """Canonical order without repeats (one cache key per set), and only what the engine renders."""
        engine = info.data.get("engine", "cycles")
        supported = ENGINE_PASSES.get(engine, ())
        refused = [name for name in PASS_NAMES if name in value and name not in supported]
        if refused:
            offer = ", ".join(supported) or "none"
            raise ValueError(
                f"the {engine} engine does not render {', '.join(refused)} (it renders {offer}); "
                f"use engine cycles, or leave out {', '.join(refused)}"
            )
        return tuple(name for name in PASS_NAMES if name in value)

    @field_validator("width")
    @classmethod
    def _width_fits_preset(cls, width: int, info: ValidationInfo) -> int:
        problem = width_problem(info.data.get("preset"), width)
        if problem is not None:
            raise ValueError(problem)
        return width

    @field_validator("height")
    @classmethod
    def _height_fits_preset(cls, height: int, info: ValidationInfo) -> int:
        width = info.data.get("width")  # absent when the width itself was refused
        problem = height_problem(info.data.get("preset"), width, height) if width is not None else None
        if problem is not None:
            raise ValueError(problem)
        return height

    @field_validator("frames")
    @classmethod
    def _frames_fit_preset(cls, frames: int, info: ValidationInfo) -> int:
        problem = frame_problem(info.data.get("preset"), frames)
        if problem is not None:
            raise ValueError(problem)
        return frames

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def clip(self) -> Clip:
        """The clip these settings render: what the scene plan frames the shot for."""
        from simian.scene.plan import Clip

        return Clip(frames=self.frames, fps=self.fps, width=self.width, height=self.height)

    def cache_dict(self) -> dict[str, Any]:
        """What decides the outputs: everything but the device (devices agree within noise) and the preset's name
        (its shape is in the fields it set). No passes is left out, so the keys of videos rendered before passes
        existed stay what they were."""
        return self.model_dump(mode="json", exclude={"device", "preset"} | (set() if self.passes else {"passes"}))


def parse_render_settings(**values: Any) -> RenderSettings:
    try:
        return RenderSettings(**values)
    except ValidationError as exc:
        raise invalid_input(exc, "invalid render settings", name=str, sep="; ") from None
