"""Reference-format combinations files, written from the reference combiner's documented format.

The public project's combiner (Simverse `simian/combine/combiner.py`) writes `{"seed", "count", "combinations"}`
with the keys, value ranges and flag behaviour described in /work/shared/reference-simverse.md
(sections 1.2 and 2) and its data files. This module draws such files with its own small tables, so
the reader can be tested on every flag combination without the reference's datasets:

- `--movement`: every object moves (direction from 5, speed U(0.1, 1.0) / 1.5 units per frame);
  without it the entry carries `no_movement: true`
- `--ontop`: later objects may take any cell, so cells are shared and objects stack
- `--camera_follow`: one random object gets `camera_follow: {"follow": true}`
- `--random`: per entry, coin flips for movement and camera follow (max speed U(0.1, 0.5)); stacking
  still follows `--ontop` (the reference's coin flip for it is never used)
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

DIRECTIONS = ("left", "right", "forward", "backward", "up")
OUR_DIRECTIONS = {"left": "left", "right": "right", "forward": "away", "backward": "toward", "up": "up"}

#: name -> (factor, synonyms), in the reference's order (its triangular weights 1,2,3,4,3,2,1 follow it).
SCALES = {
    "tiny": (0.25, ("tiny", "mini", "petite")),
    "small": (0.5, ("small", "little")),
    "small-medium": (0.75, ("small-medium", "small-ish")),
    "medium": (1.0, ("medium", "standard", "regular")),
    "medium-large": (1.5, ("medium-large", "sizable")),
    "large": (2.25, ("large", "big")),
    "huge": (3.0, ("huge", "gigantic")),
}
SCALE_WEIGHTS = (1, 2, 3, 4, 3, 2, 1)

#: (name, fov_min, fov_max, coverage_min, coverage_max) as in the reference's camera data.
FRAMINGS = (
    ("extreme_closeup", 10, 15, 0.7, 1.1),
    ("closeup", 15, 24, 1.0, 1.2),
    ("medium_closeup", 24, 30, 0.8, 1.2),
    ("medium", 30, 40, 1.0, 1.5),
    ("medium_wide", 40, 55, 1.5, 2.0),
    ("wide", 55, 70, 2.0, 3.0),
    ("extreme_wide", 70, 90, 3.0, 4.0),
)
ANIMATIONS = (
    "static", "pan_left", "pan_right", "orbit_left", "orbit_right", "orbit_up", "orbit_down", "dolly_in",
    "dolly_out", "zoom_in", "zoom_out", "tilt_up", "tilt_down", "tilt_left", "tilt_right", "crane_up", "crane_down",
)  # fmt: skip
#: Upper bounds of the effect buckets none/low/medium/high/extreme, by the value that picks them.
EFFECT_BUCKETS = ((0.02, "none"), (0.2, "low"), (0.5, "medium"), (0.8, "high"), (1.2, "extreme"))

#: Poly Haven HDRIs: (id, display name).
HDRIS = (("brown_photostudio_07", "Brown Photostudio 07"), ("kloofendal_48d_partly_cloudy", "Kloofendal 48d"))
#: Poly Haven textures: (display name, the id it maps to).
TEXTURES = (("Medieval Blocks 02", "medieval_blocks_02"), ("Rocky Trail", "rocky_trail"), ("Wood Floor", "wood_floor"))
OBJECT_WORDS = ("wooden chair", "red toy car", "ceramic vase", "green cactus", "brass lamp", "stone statue")


@dataclass(frozen=True)
class Flags:
    movement: bool = False
    ontop: bool = False
    camera_follow: bool = False
    random: bool = False

    def __str__(self) -> str:
        return " ".join(f"--{name}" for name, on in vars(self).items() if on) or "(no flags)"

    @property
    def stacks_may_move(self) -> bool:
        """Whether this file may hold a stack whose objects move (stacking with movement, always or by coin)."""
        return self.ontop and (self.movement or self.random)


ALL_FLAGS = tuple(Flags(*values) for values in itertools.product((False, True), repeat=4))


def _effect_type(value: float) -> str:
    return next((name for bound, name in EFFECT_BUCKETS if value <= bound), "none")


def _uid(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(32))


def _objects(rng: random.Random, count: int, ontop: bool, uids: list[str]) -> list[dict[str, Any]]:
    objects = []
    taken: set[int] = set()
    for i in range(count):
        words = rng.choice(OBJECT_WORDS)
        scale_name = rng.choices(list(SCALES), weights=SCALE_WEIGHTS)[0]
        factor, synonyms = SCALES[scale_name]
        placement = 4 if i == 0 else rng.choice([p for p in range(9) if ontop or p not in taken])
        taken.add(placement)
        cell = (placement % 3 - 1, 1 - placement // 3)
        turn = math.radians(rng.randint(0, 360))
        objects.append(
            {
                "name": f"a {words}",
                "uid": rng.choice(uids),  # the reference draws uids with replacement: repeats happen
                "description": f"a {words}",
                "placement": placement,
                "from": "cap3d",
                "scale": {"factor": factor, "name": scale_name, "name_synonym": rng.choice(synonyms)},
                "transformed_position": [
                    cell[0] * math.cos(turn) - cell[1] * math.sin(turn),
                    cell[0] * math.sin(turn) + cell[1] * math.cos(turn),
                ],
            }
        )
    return objects


def _postprocessing(rng: random.Random) -> dict[str, Any]:
    bloom, ssao, ssrr, blur = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0, 1)
    return {
        "bloom": {
            "threshold": rng.uniform(0.7, 1.0),
            "intensity": bloom,
            "radius": rng.uniform(1, 10),
            "type": _effect_type(bloom),
        },
        "ssao": {"distance": rng.uniform(0.02, 1.2), "factor": ssao, "type": _effect_type(ssao)},
        "ssrr": {"max_roughness": ssrr, "thickness": rng.uniform(0.05, 5), "type": _effect_type(ssrr)},
        "motionblur": {"shutter_speed": blur, "type": _effect_type(blur)},
    }


def reference_entry(rng: random.Random, index: int, flags: Flags, uids: list[str], max_objects: int = 5) -> dict:
    """One entry, keys in the order the reference writes them."""
    movement, follow, max_speed = flags.movement, flags.camera_follow, 1.0
    if flags.random:
        movement, follow, max_speed = rng.random() < 0.5, rng.random() < 0.5, rng.uniform(0.1, 0.5)
    objects = _objects(rng, rng.randint(1, max_objects), flags.ontop, uids)
    hdri_id, hdri_name = rng.choice(HDRIS)
    fov = int(rng.uniform(10, 90))
    framing = next(f for f in FRAMINGS if f[1] <= fov <= f[2])
    material_name, _ = rng.choice(TEXTURES)
    entry: dict[str, Any] = {
        "index": index,
        "objects_caption": "The scene features " + ", ".join(o["description"] for o in objects) + ".",
        "objects": objects,
        "background_caption": f"Scene background: The landscape is {hdri_name}.",
        "background": {
            "name": hdri_name,
            "url": f"https://dl.polyhaven.org/file/ph-assets/HDRIs/hdr/8k/{hdri_id}_8k.hdr",
            "id": hdri_id,
            "from": "hdri_data",
        },
        "orientation_caption": "Camera orientation: Camera facing the scene.",
        "orientation": {"yaw": rng.randint(0, 360), "pitch": rng.randint(0, 75)},
        "framing_caption": f"Camera framing: {framing[0]}. The field of view is {fov} degrees.",
        "framing": {"fov": fov, "coverage_factor": rng.uniform(framing[3], framing[4]), "name": framing[0]},
        "animation_caption": "Camera animation:",
        "animation": {
            "name": rng.choice(ANIMATIONS),
            "keyframes": [
                {"CameraAnimationRoot": {"rotation": [0, 0, 90]}},
                {"CameraAnimationRoot": {"rotation": [0, 0, 0]}},
            ],
            "speed_factor": rng.uniform(0.5, 2.0),
        },
        "stage_caption": f"Scene stage: The floor is {material_name}.",
        "stage": {
            "material": {
                "name": material_name,
                "maps": {m: f"https://dl.polyhaven.org/{m}.jpg" for m in ("Diffuse", "nor_gl", "Rough", "AO")},
            },
            "uv_scale": [rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)],
            "uv_rotation": rng.uniform(0, 360),
        },
        "postprocessing_caption": "Post-processing effects:",
        "postprocessing": _postprocessing(rng),
    }
    if movement:
        for obj in objects:
            obj["movement"] = {"direction": rng.choice(DIRECTIONS), "speed": rng.uniform(0.1, max_speed) / 1.5}
    else:
        entry["no_movement"] = True
    if follow:
        rng.choice(objects)["camera_follow"] = {"follow": True}
    for obj in objects:
        obj["relationships"] = f"{obj['name']} is to the left of and behind another object."
    entry["caption"] = f"{entry['objects_caption']} {entry['background_caption']} (reference caption)"
    return entry


def reference_file(seed: int, count: int, flags: Flags, max_objects: int = 5) -> dict[str, Any]:
    """The content of a `combinations.json` the reference combiner would write with these flags."""
    rng = random.Random(seed)
    uids = [_uid(rng) for _ in range(12)]
    combinations = [reference_entry(rng, i, flags, uids, max_objects) for i in range(count)]
    return {"seed": seed, "count": count, "combinations": combinations}


def has_moving_stack(entry: dict[str, Any]) -> bool:
    cells = [o["placement"] for o in entry["objects"]]
    return any("movement" in o and cells.count(o["placement"]) > 1 for o in entry["objects"])
