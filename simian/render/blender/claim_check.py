"""`simian check`: every claim of a caption verified against Blender's own view of the scene.

The scene is built in bpy exactly as for rendering (nothing is rendered); then each claim is
judged from Blender's evaluated objects and camera, frame by frame: bounding boxes projected with
`bpy_extras.object_utils.world_to_camera_view`, rays cast through the camera for what fills the
frame and what hides what, keyframed camera and objects for motion and rates, and the compositor
and engine settings for effects. Nothing here reads the scene plan's numbers, so a plan that
disagrees with the renderer shows up as failed claims.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simian.assets.catalog import BUILTIN_OBJECTS
from simian.captions.long import Claim, describe, floor_image_motion, size_phrase
from simian.captions.styles import style_claims
from simian.recipe.combination import Combination
from simian.recipe.vocabulary import shot_size_for, speed_word, view_height, view_side
from simian.render.render_settings import RenderSettings
from simian.scene import composition, effects
from simian.scene.plan import follow_index
from simian.scene.projection import Box2D
from simian.scene.recognition import predicted_short_side
from simian.scene.shapes import FACING_FEATURES, PART_MIN_SHORT_SIDE, SMALL_FORMS, feature_visible, shape_for

#: Slack for comparing Blender's numbers with the caption's.
FRACTION_TOLERANCE = 0.003  # of the frame, for margins and sizes
RATE_TOLERANCE = 0.03  # relative, for rates and speeds
SIZE_TOLERANCE = 0.02  # relative, for object dimensions
POSITION_TOLERANCE_M = 0.005  # for world positions stated in millimetres
FRAME_POSITION_TOLERANCE = 0.005  # of the frame, for image positions stated to a thousandth
#: An object counts as visible when at least this share of its silhouette is not hidden.
MIN_VISIBLE_SHARE = 0.3
#: A followed object keeps its place when its box centre drifts less than this (frame fractions).
CENTRED_TOLERANCE = 0.05
FLOOR_NAME = "simian_floor"
BACKDROP_NAME = "simian_studio_backdrop"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CombinationReport:
    index: int
    verdicts: tuple[Verdict, ...]
    variant: int = 0

    @property
    def label(self) -> str:
        return str(self.index) if self.variant == 0 else f"{self.index}-v{self.variant}"

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]


#: Relative slack on the picture's speed at a speed word's boundary (the plan's boxes against Blender's).
SPEED_TOLERANCE = 0.1


class SceneView:
    """Blender's evaluated scene, read frame by frame: object boxes, camera, rays."""

    def __init__(self, scene: Any, settings: RenderSettings, count: int) -> None:
        import bpy  # noqa: F401  (makes bpy_extras importable)
        from bpy_extras.object_utils import world_to_camera_view

        self.scene = scene
        self.settings = settings
        self.aspect = settings.width / settings.height
        self._to_view = world_to_camera_view
        roots = {o.name.split("_")[1]: o for o in scene.objects if o.name.startswith("object_") and o.parent is None}
        self.roots = [roots[str(i)] for i in range(count)]
        self.meshes = [[c for c in r.children_recursive if c.type == "MESH"] for r in self.roots]
        self.camera = scene.camera
        self.frames = list(range(1, settings.frames + 1))
        self._cache: dict[int, dict[str, Any]] = {}
        self._frame: int | None = None

    def goto(self, frame: int) -> None:
        if self._frame != frame:
            self.scene.frame_set(frame)
            self._frame = frame

    def at(self, frame: int) -> dict[str, Any]:
        """Object world bounds, image boxes and the camera's state at `frame` (cached)."""
        if frame not in self._cache:
            from mathutils import Vector

            self.goto(frame)
            bounds = []
            for meshes in self.meshes:
                corners = [m.matrix_world @ Vector(c) for m in meshes for c in m.bound_box]
                bounds.append(
                    (
                        tuple(min(p[k] for p in corners) for k in range(3)),
                        tuple(max(p[k] for p in corners) for k in range(3)),
                    )
                )
            cam = self.camera.matrix_world.copy()
            self._cache[frame] = {
                "bounds": bounds,
                "boxes": [self.box(lo, hi) for lo, hi in bounds],
                "camera": cam,
                "fov": math.degrees(self.camera.data.angle),
            }
        return self._cache[frame]

    def project(self, point: Any, frame: int | None = None) -> tuple[float, float, float]:
        """(x, y, depth) at `frame` (default: the current one): x, y as frame fractions with the
        origin top-left, as the plan's boxes."""
        from mathutils import Vector

        if frame is not None:
            self.goto(frame)
        v = self._to_view(self.scene, self.camera, Vector(point))
        return (v.x, 1.0 - v.y, v.z)

    def box(self, lo: tuple, hi: tuple) -> Box2D | None:
        xs, ys = [], []
        for x in (lo[0], hi[0]):
            for y in (lo[1], hi[1]):
                for z in (lo[2], hi[2]):
                    px, py, depth = self.project((x, y, z))
                    if depth <= self.camera.data.clip_start:
                        return None
                    xs.append(px)
                    ys.append(py)
        return Box2D(min(xs), min(ys), max(xs), max(ys))

    def center(self, frame: int, i: int) -> tuple[float, float, float]:
        lo, hi = self.at(frame)["bounds"][i]
        return ((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2)

    def ray(self, frame: int, x: float, y: float) -> tuple[Any, Any]:
        """Origin and direction of the camera ray through image point (x, y) (top-left origin)."""
        from mathutils import Vector

        self.goto(frame)
        frame_corners = self.camera.data.view_frame(scene=self.scene)  # top-right, bottom-right, bottom-left, ...
        right, bottom, left = frame_corners[0].x, frame_corners[1].y, frame_corners[2].x
        top = frame_corners[0].y
        local = Vector((left + (right - left) * x, top + (bottom - top) * y, frame_corners[0].z))
        matrix = self.camera.matrix_world
        direction = (matrix.to_3x3() @ local).normalized()
        return matrix.translation.copy(), direction

    def first_hit(self, origin: Any, direction: Any, skip: set[str] | None = None) -> Any:
        """The first object a ray meets (skipping objects named in `skip`), or None."""
        depsgraph = self.scene.view_layers[0].depsgraph
        for _ in range(8):
            hit, location, _normal, _index, obj, _matrix = self.scene.ray_cast(depsgraph, origin, direction)
            if not hit:
                return None
            if skip is None or obj.name not in skip:
                return obj
            origin = location + direction * 1e-4
        return None

    def fractions(self, frame: int) -> dict[str, float]:
        """Shares of the frame showing objects, the floor and the background (sky above the horizon,
        or the studio backdrop), by rays cast through a grid."""
        nx, ny = composition.GRID
        counts = {"objects": 0, "floor": 0, "background": 0}
        for row in range(ny):
            for col in range(nx):
                origin, direction = self.ray(frame, (col + 0.5) / nx, (row + 0.5) / ny)
                obj = self.first_hit(origin, direction)
                if obj is None:
                    if direction.z > 0:
                        counts["background"] += 1
                elif obj.name == FLOOR_NAME:
                    counts["floor"] += 1
                elif obj.name == BACKDROP_NAME:
                    counts["background"] += 1
                else:
                    counts["objects"] += 1
        return {k: v / (nx * ny) for k, v in counts.items()}

    def visible_share(self, frame: int, i: int, samples: int = 8) -> float:
        """Share of rays through object i's box that hit it first, of those that hit it at all."""
        box = self.at(frame)["boxes"][i]
        if box is None:
            return 0.0
        names = {m.name for m in self.meshes[i]}
        others = {o.name for o in self.scene.objects if o.name not in names}
        hits = silhouette = 0
        for row in range(samples):
            for col in range(samples):
                x = box.x0 + (col + 0.5) / samples * box.width
                y = box.y0 + (row + 0.5) / samples * box.height
                origin, direction = self.ray(frame, x, y)
                first = self.first_hit(origin, direction)
                if first is not None and first.name in names:
                    hits += 1
                    silhouette += 1
                    continue
                behind = self.first_hit(origin, direction, skip=others)
                if behind is not None and behind.name in names:
                    silhouette += 1
        return hits / silhouette if silhouette else 0.0


def _forward(matrix: Any) -> Any:
    from mathutils import Vector

    return -(matrix.to_3x3() @ Vector((0.0, 0.0, 1.0)))


def _heading_pitch(matrix: Any) -> tuple[float, float]:
    f = _forward(matrix)
    return math.degrees(math.atan2(f.y, f.x)), math.degrees(math.asin(max(-1.0, min(1.0, -f.z))))


def _angle_diff(a: float, b: float) -> float:
    return (a - b + 180.0) % 360.0 - 180.0


class ClaimChecker:
    """Judges claims of one combination against its built scene."""

    def __init__(self, combination: Combination, view: SceneView, rules: composition.Rules) -> None:
        self.c = combination
        self.view = view
        self.rules = rules
        self.first, self.last = view.frames[0], view.frames[-1]
        self.seconds = (self.last - self.first) / view.settings.fps
        self._handlers: dict[str, Callable[[Claim], tuple[bool, str]]] = {
            name.removeprefix("_claim_"): getattr(self, name) for name in dir(self) if name.startswith("_claim_")
        }
        self._fractions: dict[str, float] | None = None

    def judge(self, claim: Claim) -> Verdict:
        ok, detail = self._handlers[claim.kind](claim)
        return Verdict(claim, ok, detail)

    def fractions(self) -> dict[str, float]:
        if self._fractions is None:
            self._fractions = self.view.fractions(self.first)
        return self._fractions

    def _follow_shift(self) -> Any:
        """How far the followed object (and so the camera) moved between the first and last frame."""
        from mathutils import Vector

        followed = follow_index(self.c)
        if followed is None:
            return Vector((0.0, 0.0, 0.0))
        return Vector(self.view.center(self.last, followed)) - Vector(self.view.center(self.first, followed))

    # ---- objects -------------------------------------------------------------------------------

    def _claim_object(self, claim: Claim) -> tuple[bool, str]:
        i = claim.objects[0]
        margin = self.rules.margin - FRACTION_TOLERANCE
        least = self.rules.min_object_size - FRACTION_TOLERANCE
        for frame in self.view.frames:
            box = self.view.at(frame)["boxes"][i]
            if box is None:
                return False, f"behind the camera at frame {frame}"
            if not box.inside(margin):
                return False, f"leaves the frame at frame {frame} (box {box.as_list(3)})"
            size = composition.on_screen_size(box, self.view.aspect)
            if size < least:
                return False, f"only {size:.3f} of the frame height at frame {frame}"
            axis = shape_for(self.c.objects[i].asset).long_axis
            if axis is not None:
                from mathutils import Vector

                ray = Vector(self.view.center(frame, i)) - self.view.at(frame)["camera"].translation
                angle = math.degrees(ray.angle(Vector(axis)))
                angle = min(angle, 180.0 - angle)
                if angle < self.rules.end_on_angle_deg - 1.0:
                    return False, f"seen {angle:.0f} degrees off its long axis at frame {frame}"
        share = self.view.visible_share(self.first, i)
        if share < MIN_VISIBLE_SHARE:
            return False, f"only {share:.0%} of it is unhidden at the first frame"
        asset = self.c.objects[i].asset
        feature = FACING_FEATURES.get(asset)
        named = feature is not None and BUILTIN_OBJECTS[asset].description.split(" ", 1)[1] in claim.text
        if feature is not None and named:
            camera = self.view.at(self.first)["camera"].translation
            cx, cy, _ = self.view.center(self.first, i)
            if not feature_visible(feature, camera.x - cx, camera.y - cy):
                return False, "a feature it names faces away from the camera"
        first_box = self.view.at(self.first)["boxes"][i]
        whole = asset in SMALL_FORMS and BUILTIN_OBJECTS[asset].description.split(" ", 1)[1] in claim.text
        if whole and first_box is not None:
            seen = predicted_short_side(asset, composition.short_side(first_box, self.view.aspect))
            if seen < PART_MIN_SHORT_SIDE:
                return False, f"a small part it names cannot show at {seen:.3f} of the frame height"
        return True, ""

    def _claim_size(self, claim: Claim) -> tuple[bool, str]:
        lo, hi = self.view.at(self.first)["bounds"][claim.objects[0]]
        dx, dy, dz = (h - low for h, low in zip(hi, lo, strict=True))
        horizontal = max(dx, dy)
        measured = {"tall": dz, "long": horizontal, "wide": horizontal, "largest": max(dx, dy, dz)}[claim.word]
        ok = abs(measured - claim.value) <= SIZE_TOLERANCE * claim.value  # type: ignore[operator]
        if claim.word == "tall":
            ok &= dz >= horizontal * (1 - SIZE_TOLERANCE)
        elif claim.word in ("long", "wide"):
            ok &= horizontal >= dz * (1 - SIZE_TOLERANCE)
            elongated = horizontal >= 1.5 * min(dx, dy) * (1 - SIZE_TOLERANCE)
            ok &= elongated if claim.word == "long" else not elongated
        return ok, f"Blender's box is {dx:.3f} x {dy:.3f} x {dz:.3f} m"

    def _claim_side(self, claim: Claim) -> tuple[bool, str]:
        i, j = claim.objects
        xi = self.view.project(self.view.center(self.first, i), self.first)[0]
        xj = self.view.project(self.view.center(self.first, j), self.first)[0]
        return (xi < xj) == (claim.word == "left"), f"x {xi:.3f} vs {xj:.3f}"

    def _claim_depth(self, claim: Claim) -> tuple[bool, str]:
        i, j = claim.objects
        di = self.view.project(self.view.center(self.first, i), self.first)[2]
        dj = self.view.project(self.view.center(self.first, j), self.first)[2]
        return (di < dj) == (claim.word == "in front of"), f"depth {di:.2f} vs {dj:.2f} m"

    def _claim_position(self, claim: Claim) -> tuple[bool, str]:
        axis = {"x": 0, "y": 1}[claim.word]
        measured = self.view.center(self.first, claim.objects[0])[axis]
        ok = claim.value is not None and abs(measured - claim.value) <= POSITION_TOLERANCE_M
        return ok, f"Blender's box centre is at {claim.word} = {measured:.4f} m"

    def _claim_frame_position(self, claim: Claim) -> tuple[bool, str]:
        box = self.view.at(self.first)["boxes"][claim.objects[0]]
        if box is None:
            return False, "behind the camera at the first frame"
        measured = box.center[{"x": 0, "y": 1}[claim.word]]
        ok = claim.value is not None and abs(measured - claim.value) <= FRAME_POSITION_TOLERANCE
        return ok, f"its image box centre is at {claim.word} = {measured:.4f} of the frame"

    def _claim_on_top(self, claim: Claim) -> tuple[bool, str]:
        top, base = claim.objects
        if top == base:
            return False, "it names no other object to stand on"
        for frame in self.view.frames:
            (tlo, thi), (blo, bhi) = self.view.at(frame)["bounds"][top], self.view.at(frame)["bounds"][base]
            gap = tlo[2] - bhi[2]
            cx, cy = (tlo[0] + thi[0]) / 2, (tlo[1] + thi[1]) / 2
            over = blo[0] <= cx <= bhi[0] and blo[1] <= cy <= bhi[1]
            if abs(gap) > 0.01 * max(thi[2] - tlo[2], 0.01) or not over:
                return False, f"at frame {frame} its bottom is {gap:+.3f} m off the top below, over it: {over}"
        return True, ""

    def _claim_object_motion(self, claim: Claim) -> tuple[bool, str]:
        from mathutils import Vector

        i = claim.objects[0]
        if self.seconds <= 0:
            return False, "a single frame shows no motion"
        shift = Vector(self.view.center(self.last, i)) - Vector(self.view.center(self.first, i))
        matrix = self.view.at(self.first)["camera"]
        f = _forward(matrix)
        forward = Vector((f.x, f.y, 0.0)).normalized()
        right = Vector((forward.y, -forward.x, 0.0))
        parts = {
            "right": shift.dot(right),
            "left": -shift.dot(right),
            "away": shift.dot(forward),
            "toward": -shift.dot(forward),
            "up": shift.z,
        }
        along = parts[claim.word]
        speed = shift.length / self.seconds
        ok = along >= 0.9 * shift.length and abs(speed - claim.value) <= RATE_TOLERANCE * claim.value  # type: ignore[operator]
        return ok, f"moved {shift.length:.3f} m ({along:.3f} m {claim.word}) in {self.seconds:.2f} s"

    def _claim_screen_motion(self, claim: Claim) -> tuple[bool, str]:
        i = claim.objects[0]
        a, b = self.view.at(self.first)["boxes"][i], self.view.at(self.last)["boxes"][i]
        if a is None or b is None:
            return False, "out of view"
        dx, dy = b.center[0] - a.center[0], b.center[1] - a.center[1]
        grow = math.log(max(b.height, 1e-6) / max(a.height, 1e-6))
        amount = {
            "to the left": -dx,
            "to the right": dx,
            "upward": -dy,
            "downward": dy,
            "closer": grow,
            "farther away": -grow,
        }[claim.word]
        return amount > 0.02, f"drift x {dx:+.3f}, y {dy:+.3f}, size x{math.exp(grow):.2f}"

    def _claim_follow_centred(self, claim: Claim) -> tuple[bool, str]:
        i = claim.objects[0]
        start = self.view.at(self.first)["boxes"][i]
        worst = 0.0
        for frame in self.view.frames:
            box = self.view.at(frame)["boxes"][i]
            if box is None or start is None:
                return False, f"out of view at frame {frame}"
            worst = max(worst, math.dist(box.center, start.center))
        return worst <= CENTRED_TOLERANCE, f"its centre drifts up to {worst:.3f} of the frame"

    def _claim_floor_slide(self, claim: Claim) -> tuple[bool, str]:
        i = claim.objects[0]
        cx, cy, _ = self.view.center(self.first, i)
        point = (cx, cy, 0.0)
        x0, y0, d0 = self.view.project(point, self.first)
        x1, y1, d1 = self.view.project(point, self.last)
        moved = floor_image_motion((x0, y0, d0), (x1, y1, d1))[claim.word]
        return moved > 0, f"floor point x {x0:.3f}->{x1:.3f}, y {y0:.3f}->{y1:.3f}, depth {d0:.2f}->{d1:.2f}"

    def _claim_camera_travels(self, claim: Claim) -> tuple[bool, str]:
        shift = self._follow_shift()
        moved = self.view.at(self.last)["camera"].translation - self.view.at(self.first)["camera"].translation
        ok = shift.length > 0 and moved.dot(shift) >= 0.5 * shift.length_squared
        return ok, f"camera moved {moved.length:.3f} m, the object {shift.length:.3f} m"

    # ---- camera --------------------------------------------------------------------------------

    def _claim_framing(self, claim: Claim) -> tuple[bool, str]:
        assets = [str(o.asset) for o in self.c.objects]
        span = composition.main_subject_span(self.view.at(self.first)["boxes"], assets, follow_index(self.c))
        return shot_size_for(span).label == claim.word, f"the main subject spans {span:.3f} of the frame"

    def _claim_fov(self, claim: Claim) -> tuple[bool, str]:
        fov = self.view.at(self.first)["fov"]
        return claim.value is not None and abs(fov - claim.value) <= 0.5, f"Blender's camera has {fov:.2f} degrees"

    def _claim_view_side(self, claim: Claim) -> tuple[bool, str]:
        heading, _ = _heading_pitch(self.view.at(self.first)["camera"])
        yaw = (heading - 90.0) % 360.0
        sides = {view_side(yaw + slack) for slack in (-0.5, 0.0, 0.5)}  # sectors meet at whole half-degrees
        return claim.word in sides, f"the camera looks along heading {heading:.1f} (yaw {yaw:.1f})"

    def _claim_elevation(self, claim: Claim) -> tuple[bool, str]:
        _, pitch = _heading_pitch(self.view.at(self.first)["camera"])
        words = {view_height(pitch + slack) for slack in (-0.5, 0.0, 0.5)}  # the word's bounds are whole degrees
        ok = claim.value is not None and abs(pitch - claim.value) <= 1.0 and view_height(claim.value) in words
        return ok, f"the camera looks {pitch:.1f} degrees down"

    def _claim_camera_still(self, claim: Claim) -> tuple[bool, str]:
        a, b = self.view.at(self.first), self.view.at(self.last)
        moved = (b["camera"].translation - a["camera"].translation).length
        turned = a["camera"].to_quaternion().rotation_difference(b["camera"].to_quaternion()).angle
        ok = moved < 1e-4 and turned < 1e-4 and abs(a["fov"] - b["fov"]) < 1e-4
        return ok, f"moved {moved:.4f} m, turned {math.degrees(turned):.3f} degrees"

    def _claim_camera_steady(self, claim: Claim) -> tuple[bool, str]:
        a, b = self.view.at(self.first), self.view.at(self.last)
        moved = b["camera"].translation - a["camera"].translation - self._follow_shift()
        turned = a["camera"].to_quaternion().rotation_difference(b["camera"].to_quaternion()).angle
        ok = moved.length < 1e-3 and turned < 1e-4 and abs(a["fov"] - b["fov"]) < 1e-4
        return ok, f"moved {moved.length:.4f} m apart from following, turned {math.degrees(turned):.3f} degrees"

    def _claim_camera_move(self, claim: Claim) -> tuple[bool, str]:
        from mathutils import Vector

        if self.seconds <= 0:
            return False, "a single frame shows no camera move"
        a, b = self.view.at(self.first), self.view.at(self.last)
        ha, pa = _heading_pitch(a["camera"])
        hb, pb = _heading_pitch(b["camera"])
        relative = b["camera"].translation - a["camera"].translation - self._follow_shift()
        f = _forward(a["camera"])
        right = a["camera"].to_3x3() @ Vector((1.0, 0.0, 0.0))
        up_a, up_b = (m["camera"].to_3x3() @ Vector((0.0, 1.0, 0.0)) for m in (a, b))
        roll = math.degrees(math.atan2(-f.dot(up_a.cross(up_b)), up_a.dot(up_b)))  # about the camera's local z
        name = claim.word
        per_second = {
            "pan": _angle_diff(hb, ha) / self.seconds,
            "orbit": _angle_diff(hb, ha) / self.seconds,
            "elevation": (pb - pa) / self.seconds,
            "tilt": (pb - pa) / self.seconds,
            "roll": roll / self.seconds,
            "dolly": relative.dot(f) / self.seconds,
            "zoom": (b["fov"] - a["fov"]) / self.seconds,
            "crane": relative.z / self.seconds,
        }
        expected: dict[str, tuple[str, float, bool]] = {
            "pan_left": ("pan", 1, self._mean_x(self.last) > self._mean_x(self.first)),
            "pan_right": ("pan", -1, self._mean_x(self.last) < self._mean_x(self.first)),
            "orbit_left": ("orbit", -1, relative.dot(right) < 0),
            "orbit_right": ("orbit", 1, relative.dot(right) > 0),
            "orbit_up": ("elevation", 1, relative.z > 0),
            "orbit_down": ("elevation", -1, relative.z < 0),
            "tilt_up": ("tilt", -1, self._mean_y(self.last) < self._mean_y(self.first)),
            "tilt_down": ("tilt", 1, self._mean_y(self.last) > self._mean_y(self.first)),
            "tilt_left": ("roll", 1, True),
            "tilt_right": ("roll", -1, True),
            "dolly_in": ("dolly", 1, self._mean_size(self.last) > self._mean_size(self.first)),
            "dolly_out": ("dolly", -1, self._mean_size(self.last) < self._mean_size(self.first)),
            "zoom_in": ("zoom", -1, self._mean_size(self.last) > self._mean_size(self.first)),
            "zoom_out": ("zoom", 1, self._mean_size(self.last) < self._mean_size(self.first)),
            "crane_up": ("crane", 1, self._mean_y(self.last) < self._mean_y(self.first)),
            "crane_down": ("crane", -1, self._mean_y(self.last) > self._mean_y(self.first)),
        }
        quantity, sign, looks_right = expected[name]
        measured = per_second[quantity]
        rate_ok = abs(sign * measured - claim.value) <= RATE_TOLERANCE * claim.value + 1e-3  # type: ignore[operator]
        return rate_ok and looks_right, f"measured {measured:+.3f} per second ({quantity}), as seen: {looks_right}"

    def _claim_camera_speed(self, claim: Claim) -> tuple[bool, str]:
        """The speed word against the picture's motion in Blender's own projection of every frame."""
        boxes = [self.view.at(frame)["boxes"] for frame in self.view.frames]
        moving = composition.screen_speed(boxes, self.view.settings.clip())
        words = {speed_word(moving * (1 + slack)) for slack in (-SPEED_TOLERANCE, 0.0, SPEED_TOLERANCE)}
        return claim.word in words, f"the picture moves {moving:.3f} frame widths per second"

    def _marks(self, frame: int) -> list[tuple[float, float]]:
        """Image points that only the camera moves: the followed object's box corners when the camera
        follows one, else a square of floor points around the first object's starting place."""
        followed = follow_index(self.c)
        if followed is not None:
            box = self.view.at(frame)["boxes"][followed]
            return [] if box is None else [(box.x0, box.y0), (box.x1, box.y1)]
        lo, hi = self.view.at(self.first)["bounds"][0]
        cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
        half = max(hi[0] - lo[0], hi[1] - lo[1]) / 2
        corners = [(cx + dx * half, cy + dy * half, 0.0) for dx in (-1, 1) for dy in (-1, 1)]
        return [self.view.project(p, frame)[:2] for p in corners]

    def _mean_x(self, frame: int) -> float:
        marks = self._marks(frame)
        return sum(m[0] for m in marks) / max(1, len(marks))

    def _mean_y(self, frame: int) -> float:
        """Mean mark height in the image, upward positive."""
        marks = self._marks(frame)
        return -sum(m[1] for m in marks) / max(1, len(marks))

    def _mean_size(self, frame: int) -> float:
        marks = self._marks(frame)
        return max(m[0] for m in marks) - min(m[0] for m in marks) if marks else 0.0

    # ---- background, floor, effects ------------------------------------------------------------

    def _claim_background(self, claim: Claim) -> tuple[bool, str]:
        share = self.fractions()["background"]
        return share >= composition.MIN_BACKGROUND_FRACTION, f"the background fills {share:.1%} of the first frame"

    def _claim_lit_by(self, claim: Claim) -> tuple[bool, str]:
        world = self.view.scene.world
        asset = self.c.background.asset
        expected = f"simian_sky_{asset.removeprefix('builtin:')}" if asset.startswith("builtin:") else None
        ok = world is not None and (expected is None or world.name == expected)
        return ok, f"the world is {world.name if world else None}"

    def _claim_floor(self, claim: Claim) -> tuple[bool, str]:
        share = self.fractions()["floor"]
        return share >= self.rules.min_floor_fraction, f"the floor fills {share:.1%} of the first frame"

    def _claim_effect(self, claim: Claim) -> tuple[bool, str]:
        scene = self.view.scene
        if claim.word == "motion_blur":
            return self._motion_blur(claim.level)
        tree = scene.compositing_node_group if scene.render.use_compositing else None
        nodes = list(tree.nodes) if tree is not None else []
        if claim.word == "bloom":
            glare = next((n for n in nodes if n.bl_idname == "CompositorNodeGlare"), None)
            want = effects.BLOOM[claim.level]
            spread = next((n for n in nodes if n.bl_idname == "ShaderNodeMath" and n.operation == "MULTIPLY_ADD"), None)
            settings = (("Strength", want.strength), ("Size", want.size))
            ok = (
                glare is not None
                and spread is not None
                and glare.inputs["Threshold"].is_linked
                and abs(spread.inputs[1].default_value - want.spread) < 1e-4
                and all(abs(glare.inputs[k].default_value - v) < 1e-4 for k, v in settings)
            )
        else:
            mix = next((n for n in nodes if n.bl_idname == "ShaderNodeMix"), None)
            power = next((n for n in nodes if n.bl_idname == "ShaderNodeMath" and n.operation == "POWER"), None)
            want_ao = effects.AMBIENT_OCCLUSION[claim.level]
            ok = mix is not None and abs(mix.inputs["Factor"].default_value - want_ao.factor) < 1e-4
            ok = ok and power is not None and abs(power.inputs[1].default_value - want_ao.contrast) < 1e-4
            ok &= scene.view_layers[0].use_pass_ambient_occlusion
        visible = effects.is_visible(claim.word, claim.level, self.c.background.asset, self.c.stage.floor)
        return ok and visible, f"calibrated settings applied: {ok}; measured visible: {visible}"

    def _motion_blur(self, level: str) -> tuple[bool, str]:
        scene = self.view.scene
        shutter = effects.shutter_for(level)
        applied = scene.render.use_motion_blur and abs(scene.render.motion_blur_shutter - shutter) < 1e-4
        extended = all(curve.extrapolation == "LINEAR" for curve in _animated_curves(scene))
        least = math.inf
        for a, b in zip(self.view.frames, self.view.frames[1:], strict=False):
            boxes_a, boxes_b = self.view.at(a)["boxes"], self.view.at(b)["boxes"]
            fastest = 0.0
            for ba, bb in zip(boxes_a, boxes_b, strict=True):
                if ba is None or bb is None:
                    continue
                dx = max(abs(ba.x0 - bb.x0), abs(ba.x1 - bb.x1)) * self.view.settings.width
                dy = max(abs(ba.y0 - bb.y0), abs(ba.y1 - bb.y1)) * self.view.settings.height
                fastest = max(fastest, math.hypot(dx, dy))
            least = min(least, fastest)
        smear = 0.0 if least == math.inf else least * shutter
        visible = effects.is_visible("motion_blur", level, self.c.background.asset)
        ok = applied and extended and visible and smear >= composition.MIN_BLUR_PIXELS
        return ok, f"applied {applied}, on every frame {extended}, smear {smear:.1f} px, measured visible {visible}"


def _animated_curves(scene: Any) -> Iterator[Any]:
    from bpy_extras import anim_utils

    for owner in [*scene.objects, *(o.data for o in scene.objects if o.data is not None)]:
        animation = getattr(owner, "animation_data", None)
        if animation is None or animation.action is None:
            continue
        channels = anim_utils.animdata_get_channelbag_for_assigned_slot(animation)
        if channels is not None:
            yield from channels.fcurves


def _worded(claim: Claim, caption: str) -> bool:
    """Whether the caption says the claim (object phrases vary in wording: their size must appear). The short and
    camera captions are checked for their own words, whatever the case."""
    if claim.field != "caption":
        return claim.text.lower() in caption.lower()
    if claim.kind == "object":
        return claim.word.split(" ")[-1] in caption
    if claim.kind == "size":
        return size_phrase(claim.value, claim.word) in caption  # type: ignore[arg-type]
    return claim.text in caption


def check_combination(
    combination: Combination,
    settings: RenderSettings | None = None,
    asset_paths: dict[str, str] | None = None,
    caption: str | None = None,
    rules: composition.Rules | None = None,
    extra_claims: tuple[Claim, ...] | list[Claim] = (),
) -> CombinationReport:
    """Build the scene in bpy (no render) and judge each claim of the combination's caption
    (plus `extra_claims`, e.g. claims read from another caption).

    With `caption` (a rendered output's), each claim must also be worded in it. The recipe's caption styles are
    judged too: the short and camera captions' claims (worded in the recipe's texts) and the structured caption's,
    read back from its data.
    """
    import bpy

    from simian.render.blender.scene import build_scene
    from simian.scene.composition import plan_scene

    settings = settings or RenderSettings(device="cpu")
    plan = plan_scene(combination, settings.clip())
    claims = [*describe(combination, plan=plan).claims, *style_claims(combination, plan), *extra_claims]
    texts = {"caption_short": combination.caption_short, "caption_camera": combination.caption_camera}
    with tempfile.TemporaryDirectory(prefix="simian-check-") as tmp:
        build_scene(combination, settings, asset_paths or {}, Path(tmp) / "unused.mp4", [])
        view = SceneView(bpy.context.scene, settings, len(combination.objects))
        checker = ClaimChecker(combination, view, rules or composition.DEFAULT_RULES)
        verdicts = []
        for claim in claims:
            text = texts.get(claim.field, caption if claim.field == "caption" else None)
            if text is not None and not _worded(claim, text):
                verdicts.append(Verdict(claim, False, f"the {claim.field} does not say this"))
                continue
            verdicts.append(checker.judge(claim))
    return CombinationReport(combination.index, tuple(verdicts), combination.variant)
