"""The pixel measures on frames whose answer is known: a thin post, a shade the colour of its floor, a view."""

from __future__ import annotations

import numpy as np

from simian.render import pixel_truth
from simian.render.pixel_truth import Thresholds, measure, recognisable

GREY = (128, 128, 128)


def _clip(shape_mask: np.ndarray, colour: tuple[int, int, int], floor: tuple[int, int, int] = GREY, frames: int = 4):
    height, width = shape_mask.shape
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:] = floor
    rgb[shape_mask] = colour
    ids = np.where(shape_mask, 1, 0).astype(np.uint8)
    return [rgb] * frames, np.stack([ids] * frames)


def _block(height: int, width: int, top: int, left: int, h: int, w: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[top : top + h, left : left + w] = True
    return mask


def test_the_short_side_is_the_narrow_extent_of_the_visible_pixels_in_any_direction():
    post = _block(180, 320, 20, 100, 120, 6)
    assert 5 <= pixel_truth.short_side(post) <= 7
    diagonal = np.zeros((180, 320), dtype=bool)
    for step in range(120):
        diagonal[30 + step, 60 + step : 66 + step] = True
    assert pixel_truth.short_side(diagonal) < 8, "a diagonal post is as thin as an upright one"


def test_a_large_distinct_object_is_recognisable_and_a_thin_or_same_coloured_one_is_not():
    large = measure(*_clip(_block(180, 320, 40, 100, 60, 50), (200, 30, 30)), count=1)[0]
    assert recognisable(large, "builtin:mug", yaw=0, pitch=10)
    thin = measure(*_clip(_block(180, 320, 40, 100, 80, 8), (200, 30, 30)), count=1)[0]
    assert not recognisable(thin, "builtin:mug", yaw=0, pitch=10), "8 px across is too thin to name"
    white_on_white = measure(*_clip(_block(180, 320, 40, 100, 60, 50), (235, 235, 235), floor=(230, 230, 230)), 1)[0]
    assert white_on_white.median("contrast") < 5
    assert not recognisable(white_on_white, "builtin:lamp", yaw=0, pitch=10)


def test_thin_types_need_more_pixels_than_compact_ones():
    medium = measure(*_clip(_block(180, 320, 40, 100, 60, 24), (200, 30, 30)), count=1)[0]
    assert recognisable(medium, "builtin:mug", yaw=0, pitch=10)
    assert not recognisable(medium, "builtin:lamp", yaw=0, pitch=10)


def test_an_umbrella_from_high_above_and_a_small_chair_from_behind_are_not_named():
    big = measure(*_clip(_block(180, 320, 20, 60, 120, 120), (220, 200, 20)), count=1)[0]
    assert recognisable(big, "builtin:umbrella", yaw=0, pitch=20)
    assert not recognisable(big, "builtin:umbrella", yaw=0, pitch=50), "a dome with no pole, however large"
    small = measure(*_clip(_block(180, 320, 60, 100, 40, 25), (150, 90, 40)), count=1)[0]
    assert recognisable(small, "builtin:chair", yaw=90, pitch=20)
    assert not recognisable(small, "builtin:chair", yaw=180, pitch=20), "a small chair from behind: a slatted box"
    assert not recognisable(small, "builtin:chair", yaw=-160, pitch=20)
    assert recognisable(big, "builtin:chair", yaw=180, pitch=20), "a large one still reads from behind"


def test_an_object_seen_on_too_few_frames_is_not_named():
    frames, ids = _clip(_block(180, 320, 40, 100, 60, 50), (200, 30, 30), frames=4)
    ids = ids.copy()
    ids[1:] = 0  # visible on the first frame only
    obj = measure(frames, ids, count=1)[0]
    assert obj.frames[1] is None
    assert not recognisable(obj, "builtin:mug", yaw=0, pitch=10, limits=Thresholds(frame_share=0.5))


def test_a_white_object_with_dark_details_on_a_white_floor_stands_out_by_its_details():
    """A snowman's black hat and buttons: the median colour of the object is the floor's, but a third of its
    pixels stand out, which is what a viewer sees (comparing two medians called it camouflage)."""
    body = _block(180, 320, 40, 100, 60, 40)
    frames, ids = _clip(body, (235, 235, 235), floor=(230, 230, 230))
    hat = _block(180, 320, 40, 100, 25, 40)
    for rgb in frames:
        rgb[hat] = (20, 20, 20)
    snowman = measure(frames, ids, count=1)[0]
    assert snowman.median("contrast") > 10
    assert recognisable(snowman, "builtin:snowman", yaw=0, pitch=10)


def test_a_thin_object_on_a_busy_floor_is_not_named_where_a_solid_one_is():
    """A lamp's shade and arm vanish into a checkerboard whose own squares differ as much as the lamp does."""
    height, width = 180, 320
    checker = ((np.arange(height)[:, None] // 6 + np.arange(width)[None, :] // 6) % 2).astype(bool)
    shape = _block(height, width, 40, 100, 60, 40)

    def on(floor_pattern: bool) -> pixel_truth.ObjectPixels:
        rgb = np.empty((height, width, 3), dtype=np.uint8)
        rgb[:] = (150, 150, 150)
        if floor_pattern:
            rgb[checker] = (235, 235, 235)
            rgb[~checker] = (90, 90, 90)
        rgb[shape] = (215, 215, 215)
        ids = np.where(shape, 1, 0).astype(np.uint8)
        return measure([rgb] * 4, np.stack([ids] * 4), count=1)[0]

    assert recognisable(on(False), "builtin:lamp", yaw=0, pitch=10)
    assert not recognisable(on(True), "builtin:lamp", yaw=0, pitch=10)
    assert recognisable(on(True), "builtin:mug", yaw=0, pitch=10), "a solid shape still reads on the same floor"


def test_a_snowman_from_high_above_is_not_named():
    big = measure(*_clip(_block(180, 320, 20, 60, 120, 80), (235, 235, 235)), count=1)[0]
    assert recognisable(big, "builtin:snowman", yaw=0, pitch=30)
    assert not recognisable(big, "builtin:snowman", yaw=0, pitch=50), "from above its balls stack into one disc"
