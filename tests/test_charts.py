"""The card's charts: counts from the metadata rows, drawn as SVG."""

from __future__ import annotations

from simian.combine.combiner import CombinerOptions, combination_for
from simian.dataset.charts import CHART_SPECS, MAX_BARS, card_section, chart_files, counts


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        c = combination_for(71, i, CombinerOptions(random=True))
        rows.append(
            {"file_name": f"data/0000/{i:08d}.mp4", "caption": c.caption, "combination": c.model_dump(mode="json")}
        )
    return rows


def test_charts_count_what_the_rows_hold_and_draw_each():
    rows = _rows(40)
    specs = {stem: what for stem, _, what in CHART_SPECS}
    objects = dict(counts(rows, specs["objects"]))
    assert sum(objects.values()) == sum(len(r["combination"]["objects"]) for r in rows)
    moves = dict(counts(rows, specs["camera_moves"]))
    assert sum(moves.values()) == 40 and len(moves) <= MAX_BARS
    words = dict(counts(rows, specs["caption_words"]))
    assert sum(words.values()) == 40 and all("-" in label for label in words)
    files = chart_files(rows)
    assert sorted(files) == sorted(f"charts/{stem}.svg" for stem in specs)
    for path, svg in files.items():
        assert svg.startswith("<?xml") and "</svg>" in svg, path
    top, n = counts(rows, specs["objects"])[0]
    assert f">{top}<" in files["charts/objects.svg"] and f"> {n}<" in files["charts/objects.svg"]
    assert chart_files(rows) == files, "the same rows draw the same files (no dates or random ids)"
    assert card_section(files).count("![") == len(files) and card_section({}) == "No videos yet."


def test_render_seconds_are_binned_in_order_and_charted_when_given():
    from simian.dataset.charts import chart_files, chart_titles, seconds_bins

    assert seconds_bins([0.4, 1.5, 1.7, 3.0, 12.0]) == [
        ("0-1 s", 1),
        ("1-2 s", 2),
        ("2-5 s", 1),
        ("5-10 s", 0),
        ("10-20 s", 1),
    ]
    assert seconds_bins([]) == []
    files = chart_files([], [2.5, 3.5])
    assert list(files) == ["charts/render_seconds.svg"] and ">2-5 s<" in files["charts/render_seconds.svg"]
    assert chart_titles(files) == {"charts/render_seconds.svg": "Render seconds per video"}
    assert "charts/render_seconds.svg" not in chart_files([])
