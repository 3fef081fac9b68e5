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
