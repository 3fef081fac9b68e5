"""Composition rules: what a shot must show before its caption may claim it (pure Python).

Checked on the planned camera path, frame by frame, with each object's bounding box projected
through `simian.scene.projection`: every object wholly inside the frame (with a margin), large enough to
recognise (its predicted visible short side and the camera's elevation, by `simian.scene.recognition`), not
mostly hidden behind a nearer object, never seen along its long axis, and some
floor in view. `fit` finds the camera distance that gives the recipe's shot size while keeping
these rules; the combiner redraws a recipe when no distance can.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from simian.recipe.combination import Combination
from simian.scene.plan import PLANNED_CLIP, Clip, Problem, ScenePlan, draft_plan, finish_plan
from simian.scene.projection import CLIP_START, Box2D, CameraPose, project, ray_direction
from simian.scene.recognition import (
    FAR_FLOOR_NAMES,
    FLOOR_UNITS_M,
    MIN_FLOOR_UNIT,
    min_visible_short_side,
    predicted_short_side,
    predicted_span,
    view_allows,
)
from simian.scene.shapes import shape_for


@dataclass(frozen=True)
class Rules:
    """Thresholds of a good shot; fractions are of the frame (sizes of its height)."""

    margin: float = 0.02  # every object's box stays this far inside each edge, on every frame
    min_object_size: float = 0.15  # the larger side of every object's box, on every frame
    max_occluded: float = 0.35  # share of an object's box behind nearer objects' boxes (first frame)
    end_on_angle_deg: float = 35.0  # least angle between the view ray and an object's long axis
    min_floor_fraction: float = 0.05  # floor seen at the first frame (the caption names the floor)


DEFAULT_RULES = Rules()

#: A captioned background (sky, HDRI, studio backdrop) covers at least this much of the first frame;
#: otherwise the caption names it as the light.
MIN_BACKGROUND_FRACTION = 0.12
#: Motion blur is captioned only when it smears moving objects by at least this many pixels.
MIN_BLUR_PIXELS = 3.0
#: Rays per row and column when estimating what fills the frame.
GRID = (32, 18)
#: Half the side of the floor plane the renderer builds (metres; `FLOOR_SIZE` in the Blender scene).
FLOOR_HALF_SIZE = 200.0


def on_screen_size(box: Box2D, aspect: float) -> float:
    """The larger side of an image box, as a fraction of the frame height."""
    return max(box.width * aspect, box.height)


def subjects_span(boxes: list[Box2D | None]) -> float:
    """The larger of the width and height fractions the union of the boxes covers (inf if any is behind)."""
    present = [b for b in boxes if b is not None]
    if len(present) < len(boxes) or not present:
        return math.inf
    union = present[0]
    for box in present[1:]:
        union = union.union(box)
    return max(union.width, union.height)


def main_subject_span(boxes: Sequence[Box2D | None], assets: Sequence[str], followed: int | None = None) -> float:
    """How much of the frame the main subject spans as a viewer sees it: the followed object, else the largest on
    screen, its box span times the share of it its type shows (`recognition.SPAN_SHARE`: a mushroom seen from
    above fills 0.65 of its box). Shot sizes name what a viewer watches; three small objects scattered over
    a wide field are a wide shot, not a close-up (inf if any object is behind the camera)."""
    present = [b for b in boxes if b is not None]
    if len(present) < len(boxes) or not present:
        return math.inf
    spans = [predicted_span(asset, max(b.width, b.height)) for b, asset in zip(present, assets, strict=True)]
    if followed is not None:
        return spans[followed]
    areas = [b.width * b.height for b in present]
    return spans[areas.index(max(areas))]


def screen_speed(frame_boxes: Sequence[Sequence[Box2D | None]], clip: Clip) -> float:
    """How fast the picture moves, in frame widths per second: the fastest object's median motion of its box
    edges from frame to frame. An orbit around round objects moves nothing on screen, however fast the camera
    turns; speed words follow what a viewer sees."""
    height_in_widths = clip.height / clip.width
    fastest = 0.0
    for i in range(len(frame_boxes[0]) if frame_boxes else 0):
        steps = []
        for before, after in zip(frame_boxes, frame_boxes[1:], strict=False):
            a, b = before[i], after[i]
            if a is None or b is None:
                continue
            across = (abs(b.x0 - a.x0) + abs(b.x1 - a.x1)) / 2
            down = (abs(b.y0 - a.y0) + abs(b.y1 - a.y1)) / 2 * height_in_widths
            steps.append(math.hypot(across, down) * clip.fps)
        if steps:
            fastest = max(fastest, statistics.median(steps))
    return fastest


def short_side(box: Box2D, aspect: float) -> float:
    """The smaller side of an image box, as a fraction of the frame height."""
    return min(box.width * aspect, box.height)


def floor_name(plan: ScenePlan) -> str:
    """The floor as a viewer names it: its own name where its pattern resolves around the objects at the first
    frame, else what it looks like from there (`recognition.FAR_FLOOR_NAMES`)."""
    c = plan.combination
    unit = FLOOR_UNITS_M.get(c.stage.floor)
    if unit is None:
        return c.stage.name
    camera = plan.camera_at(0.0).location
    centres = [plan.object_center(i, 0.0) for i in range(len(c.objects))]
    x, y = sum(p[0] for p in centres) / len(centres), sum(p[1] for p in centres) / len(centres)
    distance = max(math.dist(camera, (x, y, 0.0)), 1e-6)
    widths_per_metre = 0.5 / math.tan(math.radians(c.framing.fov) / 2) / distance
    on_screen = unit / max(c.stage.uv_scale) * widths_per_metre
    return c.stage.name if on_screen >= MIN_FLOOR_UNIT else FAR_FLOOR_NAMES[c.stage.floor]


def visible_short_side(plan: ScenePlan, i: int) -> float | None:
    """Object i's visible short side at the first frame, as a fraction of the frame height: its box's short side
    times the share of it its type shows (`recognition.VISIBLE_SHARE`); None when it is not in frame."""
    box = plan.frame_boxes[0][i] if plan.frame_boxes else None
    if box is None:
        return None
    return predicted_short_side(plan.combination.objects[i].asset, short_side(box, plan.clip.aspect))


def view_problems(plan: ScenePlan) -> list[Problem]:
    """Objects whose type the camera's elevation hides whatever the distance (an umbrella seen from above)."""
    c = plan.combination
    return [
        Problem("view_hides", i, None, f"{o.asset} does not read from {c.orientation.pitch:.0f} degrees above")
        for i, o in enumerate(c.objects)
        if not view_allows(o.asset, c.orientation.pitch)
    ]


def _frame_order(frames: int) -> Iterator[int]:
    """First and last frames first: that is where drifting objects leave the frame."""
    yield 1
    if frames > 1:
        yield frames
    yield from range(2, frames)


def occluded_share(plan: ScenePlan, boxes: list[Box2D | None], pose: CameraPose, i: int) -> float:
    """Share of object i's box covered by boxes of objects nearer the camera (a generous estimate)."""
    box = boxes[i]
    if box is None or box.width * box.height <= 0:
        return 1.0
    depth_i = project(pose, plan.object_center(i, 0.0), plan.clip.aspect)[2]
    covered = 0.0
    for j, other in enumerate(boxes):
        if j == i or other is None:
            continue
        if project(pose, plan.object_center(j, 0.0), plan.clip.aspect)[2] < depth_i:
            covered += box.intersection_area(other)
    return min(1.0, covered / (box.width * box.height))


def end_on_angle(plan: ScenePlan, pose: CameraPose, i: int, t: float) -> float | None:
    """Angle in degrees between the camera's ray to object i and its long axis (None: no long axis)."""
    axis = shape_for(plan.combination.objects[i].asset).long_axis
    if axis is None:
        return None
    center = plan.object_center(i, t)
    ray = tuple(c - p for c, p in zip(center, pose.location, strict=True))
    norm = math.sqrt(sum(r * r for r in ray))
    if norm < 1e-9:
        return 90.0
    cos = abs(sum(r * a for r, a in zip(ray, axis, strict=True))) / norm
    return math.degrees(math.acos(min(1.0, cos)))


def frame_problems(plan: ScenePlan, frame: int, rules: Rules) -> list[Problem]:
    """Rule breaks of one frame (1-based) of the planned clip."""
    t = plan.clip.time_of(frame)
    aspect = plan.clip.aspect
    pose = plan.camera_at(t)
    boxes = plan.boxes_at(t)
    problems = []
    if plan.camera_limited(t):
        problems.append(Problem("move_limited", None, frame, f"the {plan.move.name} runs into a limit"))
    for i, box in enumerate(boxes):
        if box is None:
            problems.append(Problem("out_of_frame", i, frame, "partly behind the camera"))
            continue
        if not box.inside(rules.margin):
            problems.append(Problem("out_of_frame", i, frame, f"box {box.as_list(3)} crosses the margin"))
        size = on_screen_size(box, aspect)
        if size < rules.min_object_size:
            problems.append(Problem("too_small", i, frame, f"{size:.3f} of the frame height"))
        obj = plan.combination.objects[i]
        visible, needed = (
            predicted_short_side(obj.asset, short_side(box, aspect)),
            min_visible_short_side(obj.asset, plan.combination.orientation.yaw),
        )
        if visible < needed:
            problems.append(
                Problem("unnameable", i, frame, f"visible short side {visible:.3f} of the frame height < {needed:.3f}")
            )
        angle = end_on_angle(plan, pose, i, t)
        if angle is not None and angle < rules.end_on_angle_deg:
            problems.append(Problem("end_on", i, frame, f"seen {angle:.0f} degrees off its long axis"))
    if frame == 1 and not problems:
        for i in range(len(boxes)):
            share = occluded_share(plan, boxes, pose, i)
            if share > rules.max_occluded:
                problems.append(Problem("occluded", i, frame, f"{share:.0%} of its box is behind nearer objects"))
    return problems


def evaluate(plan: ScenePlan, rules: Rules = DEFAULT_RULES, stop_early: bool = False) -> list[Problem]:
    """Every rule break over the planned clip (the first one only with `stop_early`)."""
    problems: list[Problem] = view_problems(plan)
    if problems and stop_early:
        return problems
    for frame in _frame_order(plan.clip.frames):
        problems += frame_problems(plan, frame, rules)
        if problems and stop_early:
            return problems
    if not problems:
        floor = frame_fractions(plan)["floor"]
        if floor < rules.min_floor_fraction:
            problems.append(Problem("floor_hidden", None, 1, f"the floor fills {floor:.1%} of the first frame"))
    return problems


def _scene_radius(plan: ScenePlan) -> float:
    """Farthest box corner from the target over the clip: the camera must stay outside it."""
    radius = 0.0
    for i in range(len(plan.objects)):
        for t in (0.0, plan.clip.duration_s):
            lo, hi = plan.object_bounds(i, t)
            for x in (lo[0], hi[0]):
                for y in (lo[1], hi[1]):
                    for z in (lo[2], hi[2]):
                        radius = max(radius, math.dist((x, y, z), plan.target))
    return radius


def fit(
    at_distance: Callable[[float], ScenePlan], target_span: float, rules: Rules = DEFAULT_RULES
) -> tuple[ScenePlan, list[Problem]]:
    """The plan whose first frame spans `target_span` of the frame, moved back or closer as little as
    needed to keep the rules on every frame; with the problems left when no distance keeps them."""
    probe = at_distance(1.0)
    closest = _scene_radius(probe) + 2 * CLIP_START

    def span(distance: float) -> float:
        return subjects_span(at_distance(distance).boxes_at(0.0))

    lo, hi = closest, max(2 * closest, 1.0)
    while span(hi) > target_span and hi < 1e5:
        lo, hi = hi, hi * 2
    if span(lo) <= target_span:
        distance = lo
    else:
        for _ in range(40):
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if span(mid) > target_span else (lo, mid)
        distance = hi
    plan = at_distance(distance)
    problems = evaluate(plan, rules, stop_early=True)
    if not problems:
        return plan, []
    # Nearest distances first, alternating farther and closer, in 8 % steps.
    steps = [k for pair in zip(range(1, 16), range(-1, -16, -1), strict=True) for k in pair] + list(range(16, 31))
    for k in steps:
        candidate = distance * 1.08**k
        if candidate < closest:
            continue
        plan_k = at_distance(candidate)
        if not evaluate(plan_k, rules, stop_early=True):
            return plan_k, []
    return plan, evaluate(plan, rules)


def _backdrop_hit(plan: ScenePlan, origin: tuple[float, float, float], d: tuple[float, float, float]) -> str:
    """What a ray from `origin` along `d` meets first in a studio: 'floor', 'backdrop' or 'world'."""
    b = plan.backdrop
    assert b is not None
    ox, oy = origin[0] - b.center[0], origin[1] - b.center[1]
    floor_s = -origin[2] / d[2] if d[2] < 0 else math.inf
    inner = b.radius - b.cove_radius
    # Where the ray's ground track first reaches the cove's foot (circle of radius `inner`), leaving it.
    a = d[0] ** 2 + d[1] ** 2
    if a < 1e-12:
        return "floor" if floor_s < math.inf else "world"
    bq = 2 * (ox * d[0] + oy * d[1])
    cq = ox * ox + oy * oy - inner * inner
    disc = bq * bq - 4 * a * cq
    exit_s = (-bq + math.sqrt(disc)) / (2 * a) if disc >= 0 else -1.0
    if exit_s <= 0 or floor_s <= exit_s:
        on_floor = floor_s < math.inf and math.hypot(ox + floor_s * d[0], oy + floor_s * d[1]) < FLOOR_HALF_SIZE
        return "floor" if on_floor else "world"
    px, py = ox + exit_s * d[0], oy + exit_s * d[1]
    azimuth = math.degrees(math.atan2(py, px))
    off = (azimuth - b.facing_deg + 180) % 360 - 180
    z = origin[2] + exit_s * d[2]
    if abs(off) <= b.half_arc_deg and z <= b.height:
        return "backdrop"
    return "floor" if floor_s < math.inf else "world"


def frame_fractions(plan: ScenePlan, t: float = 0.0, studio: bool = False) -> dict[str, float]:
    """Shares of the frame at time t showing 'objects' (their boxes), 'floor' and 'background'.

    The background is the sky or HDRI above the horizon, or the backdrop in a studio; rays that
    miss the floor plane below the horizon see neither.
    """
    pose = plan.camera_at(t)
    aspect = plan.clip.aspect
    boxes = [b for b in plan.boxes_at(t) if b is not None]
    counts = {"objects": 0, "floor": 0, "background": 0}
    nx, ny = GRID
    for row in range(ny):
        for col in range(nx):
            x, y = (col + 0.5) / nx, (row + 0.5) / ny
            if any(b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1 for b in boxes):
                counts["objects"] += 1
                continue
            d = ray_direction(pose, x, y, aspect)
            if studio and plan.backdrop is not None:
                hit = _backdrop_hit(plan, pose.location, d)
            elif d[2] < 0:
                s = -pose.location[2] / d[2]
                px, py = pose.location[0] + s * d[0], pose.location[1] + s * d[1]
                hit = "floor" if max(abs(px), abs(py)) < FLOOR_HALF_SIZE else "world"
            else:
                hit = "background"
            if hit == "backdrop":
                hit = "background"
            if hit in counts:
                counts[hit] += 1
    total = nx * ny
    return {k: v / total for k, v in counts.items()}


def motion_blur_pixels(plan: ScenePlan, shutter: float) -> float:
    """Smear in pixels of the fastest-moving object on the frame where that is least (the blur that
    every frame shows), for a shutter open `shutter` of a frame, at the planned resolution."""
    clip = plan.clip
    if clip.frames < 2:
        return 0.0
    least = math.inf
    previous = plan.boxes_at(clip.time_of(1))
    for frame in range(2, clip.frames + 1):
        current = plan.boxes_at(clip.time_of(frame))
        fastest = 0.0
        for a, b in zip(previous, current, strict=True):
            if a is None or b is None:
                continue
            dx = max(abs(a.x0 - b.x0), abs(a.x1 - b.x1)) * clip.width
            dy = max(abs(a.y0 - b.y0), abs(a.y1 - b.y1)) * clip.height
            fastest = max(fastest, math.hypot(dx, dy))
        least = min(least, fastest)
        previous = current
    return least * shutter


def plan_scene(combination: Combination, clip: Clip = PLANNED_CLIP, rules: Rules | None = None) -> ScenePlan:
    """Lay out objects and fit the camera so the shot keeps every object whole and visible."""
    span = 1.0 / combination.framing.coverage_factor
    plan, problems = fit(draft_plan(combination, clip), span, rules or DEFAULT_RULES)
    return finish_plan(plan, problems)
