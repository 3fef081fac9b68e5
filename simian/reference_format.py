"""Read combinations written by the reference combiner (Simverse `combinations.json`).

Mapped fields:
- objects[].uid -> asset `objaverse:<uid>`; name, description, placement, scale.factor/name as they are
- objects[].movement {direction, speed}: left/right/up keep their meaning, forward -> away,
  backward -> toward; speed (units per frame at 30 fps in the reference) becomes m/s (x 30),
  capped to 20 m/s
- objects[].camera_follow.follow -> camera_follow
- background.id -> `polyhaven:<id>` (name kept)
- orientation.yaw/pitch, framing.fov/coverage_factor/name, animation.name/speed_factor as they are
- stage.material.name -> `polyhaven:<slug of the name>`, uv_scale, uv_rotation
- postprocessing.bloom (intensity, threshold, type -> level), ssao (factor, distance, type -> level),
  motionblur (shutter_speed -> shutter, type -> level)

Ignored: every *_caption and caption (captions are rewritten from the recipe so they match
what is rendered), objects[].transformed_position / relationships / from, animation.keyframes
(moves are defined by name), background.url / from, stage.material.maps (textures are fetched
through the Poly Haven API), postprocessing.ssrr (no screen-space reflections in Blender 5 EEVEE),
no_movement.
"""

from __future__ import annotations

import re
from typing import Any

_LEVELS = {"none": "none", "low": "low", "medium": "medium", "high": "high", "extreme": "high"}
_DIRECTIONS = {"left": "left", "right": "right", "forward": "away", "backward": "toward", "up": "up"}


def is_reference_entry(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    objects = entry.get("objects") or []
    has_uid = any(isinstance(o, dict) and "uid" in o for o in objects)
    return has_uid or "orientation_caption" in entry or isinstance(entry.get("stage", {}).get("material"), dict)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _level(effect: dict[str, Any]) -> str:
    return _LEVELS.get(str(effect.get("type", "none")), "none")


def from_reference(entry: dict[str, Any], index: int) -> dict[str, Any]:
    """A reference entry as a dict in our schema (validated afterwards by the caller)."""
    objects = []
    for obj in entry.get("objects", []):
        mapped: dict[str, Any] = {
            "asset": f"objaverse:{obj.get('uid', '')}",
            "name": obj.get("name") or obj.get("description") or "object",
            "description": obj.get("description") or obj.get("name") or "an object",
            "placement": obj.get("placement", 4),
            "scale": {
                "factor": (obj.get("scale") or {}).get("factor", 1.0),
                "name": (obj.get("scale") or {}).get("name", "medium"),
            },
        }
        movement = obj.get("movement")
        if isinstance(movement, dict):
            mapped["movement"] = {
                "direction": _DIRECTIONS.get(movement.get("direction"), movement.get("direction")),
                "speed": min(20.0, float(movement.get("speed", 0.1)) * 30.0),
            }
        follow = obj.get("camera_follow")
        if isinstance(follow, dict) and follow.get("follow"):
            mapped["camera_follow"] = True
        objects.append(mapped)
    background = entry.get("background") or {}
    stage = entry.get("stage") or {}
    material = stage.get("material") or {}
    pp = entry.get("postprocessing") or {}
    bloom, ssao, blur = pp.get("bloom") or {}, pp.get("ssao") or {}, pp.get("motionblur") or {}
    animation = entry.get("animation") or {}
    return {
        "index": entry.get("index", index),
        "objects": objects,
        "background": {
            "asset": f"polyhaven:{background.get('id', '')}",
            "name": background.get("name") or background.get("id") or "background",
        },
        "orientation": entry.get("orientation"),
        "framing": {k: v for k, v in (entry.get("framing") or {}).items() if k in {"fov", "coverage_factor", "name"}},
        "animation": {
            "name": animation.get("name", "static"),
            "speed_factor": animation.get("speed_factor", 1.0),
        },
        "stage": {
            "floor": f"polyhaven:{_slug(material.get('name', ''))}",
            "name": material.get("name") or "floor",
            "uv_scale": stage.get("uv_scale", [1.0, 1.0]),
            "uv_rotation": stage.get("uv_rotation", 0.0),
        },
        "postprocessing": {
            "bloom": {
                "intensity": bloom.get("intensity", 0.0),
                "threshold": bloom.get("threshold", 0.8),
                "level": _level(bloom),
            },
            "ambient_occlusion": {
                "factor": ssao.get("factor", 0.0),
                "distance": max(0.01, float(ssao.get("distance", 0.5))),
                "level": _level(ssao),
            },
            "motion_blur": {"shutter": min(1.0, blur.get("shutter_speed", 0.0)), "level": _level(blur)},
        },
    }
