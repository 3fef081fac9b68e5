"""A labelled set for the pixel checker: renders, contact sheets to label by eye, measures, calibration.

    .venv/bin/python bench/pixel_labels.py render     # 40 combinations at 320x180, 12 frames, 8 samples (~30 s each)
    .venv/bin/python bench/pixel_labels.py sheets     # bench/caption_labels/work/sheets/*.png to look at
    .venv/bin/python bench/pixel_labels.py measure    # measures.json from every video in work/
    .venv/bin/python bench/pixel_labels.py calibrate  # agreement of the pixel rule with labels.json
    .venv/bin/python bench/pixel_labels.py shares DIR...  # visible shares per type, from `check --pixels -o DIR`
    .venv/bin/python bench/pixel_labels.py adopt DIR --seed S --indices 3,6  # those renders of DIR into work/
    .venv/bin/python bench/pixel_labels.py claims     # claim labels (claims.json) against today's captions

The renders and sheets stay in bench/caption_labels/work/ (not committed); what is committed is
labels.json (one verdict per named object, made by looking at the sheets: "true" when a viewer who
has not read the caption can name the object as the caption does, "false" when not, "not_visible"
when it cannot be made out at all), recipes.json (each labelled video's recipe as rendered) and
measures.json (the pixel measures of every object).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simian.combine.combiner import CombinerOptions, combination_for  # noqa: E402
from simian.recipe.combination import Combination  # noqa: E402
from simian.render import pixel_truth  # noqa: E402
from simian.render.pass_arrays import load  # noqa: E402
from simian.render.render_settings import RenderSettings  # noqa: E402

HERE = REPO / "bench" / "caption_labels"
WORK = HERE / "work"
SETTINGS = RenderSettings(width=320, height=180, frames=12, samples=8, device="cpu", passes=["segmentation"])
MOVING = {"movement": True, "ontop": True, "camera_follow": True}
#: The recipe of every rendered video as it was rendered, so that labels and measures stay reproducible when
#: the combiner changes: s<seed>-<index> were drawn before the composition used the recognition rule,
#: r<seed>-<index> after. Cases not yet rendered are drawn by today's combiner.
RECIPES = HERE / "recipes.json"
CASES: list[tuple[int, int, dict[str, bool]]] = [
    *[(31, i, {}) for i in range(10)],
    *[(32, i, MOVING) for i in range(5)],
    *[(33, i, {"random": True}) for i in range(5)],
    *[(31, i, {}) for i in range(10, 20)],
    *[(32, i, MOVING) for i in range(5, 10)],
    *[(33, i, {"random": True}) for i in range(5, 10)],
]
SHEET_FRAMES = (0, 6, 11)
ROWS_PER_SHEET = 5
ID_COLOURS = np.array(
    [[40, 40, 40], [230, 40, 40], [40, 200, 40], [60, 90, 240], [240, 220, 40], [240, 60, 240], [40, 220, 230]],
    dtype=np.uint8,
)


def case_name(seed: int, index: int) -> str:
    return f"r{seed}-{index:02d}"


def _recipes() -> dict[str, Any]:
    return json.loads(RECIPES.read_text()) if RECIPES.exists() else {}


def combination(name: str, seed: int, index: int, options: dict[str, bool]) -> Combination:
    """The stored recipe of a rendered video, else today's combiner's."""
    stored = _recipes().get(name)
    if stored is not None:
        return Combination.model_validate(stored)
    return combination_for(seed, index, CombinerOptions(**options), 0, SETTINGS.clip())


def _case_of(name: str) -> tuple[int, int, dict[str, bool]]:
    seed, index = name[1:].split("-")
    options = {31: {}, 32: MOVING, 33: {"random": True}}.get(int(seed), {})
    return int(seed), int(index), options


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def write_png(path: Path, rgb: np.ndarray) -> None:
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    )


def rendered_cases() -> list[tuple[str, int, int, dict[str, bool]]]:
    """Every video in the work folder: today's cases and, when moved back there, the ones labelled before."""
    return [(path.stem, *_case_of(path.stem)) for path in sorted(WORK.glob("*.mp4"))]


def render(count: int) -> None:
    from simian.render.renderer import Renderer

    WORK.mkdir(parents=True, exist_ok=True)
    # Labelled videos whose frames are no longer in work/ render again from their stored recipes.
    labelled = json.loads((HERE / "labels.json").read_text()) if (HERE / "labels.json").exists() else {}
    names = [case_name(seed, index) for seed, index, _ in CASES[:count]]
    names += [name for name in labelled if name not in names and name[0] != "p"]
    with Renderer(cache_dir=WORK / "cache") as renderer:
        for name in names:
            seed, index, options = _case_of(name)
            if (WORK / f"{name}.mp4").exists():
                continue
            recipe = combination(name, seed, index, options)
            result = renderer.render(recipe, SETTINGS, WORK)
            RECIPES.write_text(json.dumps({**_recipes(), name: recipe.model_dump(mode="json")}, indent=1) + "\n")
            result.media.rename(WORK / f"{name}.mp4")
            result.passes["segmentation"].rename(WORK / f"{name}.segmentation.npz")
            print(f"{name}: {result.facts.total_seconds:.1f} s", flush=True)


def measures() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, seed, index, options in rendered_cases():
        c = combination(name, seed, index, options)
        frames = decode(WORK / f"{name}.mp4")
        ids = load(WORK / f"{name}.segmentation.npz", "segmentation")
        objects = pixel_truth.measure(frames, ids, len(c.objects))
        out[name] = {
            "caption": c.caption,
            "yaw": c.orientation.yaw,
            "pitch": c.orientation.pitch,
            "objects": [
                {
                    "asset": o.asset,
                    "name": o.name,
                    "frames": [
                        None
                        if f is None
                        else [f.pixels, round(f.short_side_px, 1), round(f.contrast, 1), round(f.clutter, 1)]
                        for f in m.frames
                    ],
                }
                for o, m in zip(c.objects, objects, strict=True)
            ],
        }
    return out


def sheets() -> None:
    folder = WORK / "sheets"
    folder.mkdir(parents=True, exist_ok=True)
    listing = []
    cases = rendered_cases()
    for number, group in enumerate(cases[i : i + ROWS_PER_SHEET] for i in range(0, len(cases), ROWS_PER_SHEET)):
        rows = []
        for name, seed, index, options in group:
            c = combination(name, seed, index, options)
            frames = decode(WORK / f"{name}.mp4")
            ids = load(WORK / f"{name}.segmentation.npz", "segmentation")
            panels = [frames[f] for f in SHEET_FRAMES] + [
                ID_COLOURS[np.minimum(ids[SHEET_FRAMES[1]], len(ID_COLOURS) - 1)]
            ]
            row = np.concatenate([np.pad(p, ((0, 4), (0, 4), (0, 0)), constant_values=255) for p in panels], axis=1)
            rows.append(row)
            colours = ["red", "green", "blue", "yellow", "magenta", "cyan"]
            objects = ", ".join(f"{colours[i]}={o.name} ({o.asset})" for i, o in enumerate(c.objects))
            listing.append(
                f"sheet {number} {name}: {objects} | yaw {c.orientation.yaw:.0f} pitch {c.orientation.pitch:.0f}"
            )
        write_png(folder / f"sheet-{number}.png", np.concatenate(rows, axis=0))
    (folder / "listing.txt").write_text("\n".join(listing) + "\n")
    print("\n".join(listing))


def adopt(folder: Path, seed: int, indices: list[int], prefix: str = "p") -> None:
    """Renders kept by `simian check --pixels --seed S --count N -o DIR` join the labelled set as p<seed>-<index>
    (video, segmentation pass, and the recipe as rendered), to be looked at and labelled like the others."""
    import shutil

    WORK.mkdir(parents=True, exist_ok=True)
    recipes = _recipes()
    for index in indices:
        stem = folder / f"{index:08d}"
        name = f"{prefix}{seed}-{index:02d}"
        sidecar = json.loads(stem.with_suffix(".json").read_text())
        recipes[name] = sidecar.get("combination", sidecar)
        shutil.copyfile(stem.with_suffix(".mp4"), WORK / f"{name}.mp4")
        shutil.copyfile(stem.with_suffix(".segmentation.npz"), WORK / f"{name}.segmentation.npz")
    RECIPES.write_text(json.dumps(recipes, indent=1) + "\n")


def shares(folders: list[Path]) -> None:
    """Per type, what the projected box overstates, measured on renders kept by `check --pixels -o`:
    - short side: visible short side over the box's (each object's median over its frames); the composition
      predicts with its 10th percentile, so an object it lets through also reads on the frames (`VISIBLE_SHARE`);
    - span: visible span (the larger of width and height) over the box's at the first frame; shot sizes use its
      median (`SPAN_SHARE`), the best estimate of what a viewer sees."""
    from simian.render.outputs import rendered_outputs
    from simian.scene.composition import plan_scene, short_side

    sides: dict[str, list[float]] = {}
    spans: dict[str, list[float]] = {}
    for output in (o for folder in folders for o in rendered_outputs(folder)):
        c, settings = output.combination, output.settings
        frames = decode(output.sidecar.with_suffix(".mp4"))
        ids = load(output.sidecar.with_suffix(".segmentation.npz"), "segmentation")
        plan = plan_scene(c, settings.clip())
        aspect, width, height = settings.width / settings.height, settings.width, settings.height
        for i, pixels in enumerate(pixel_truth.measure(frames, ids, len(c.objects))):
            asset = str(c.objects[i].asset)
            per_frame = [
                f.short_side_px / (short_side(boxes[i], aspect) * height)
                for f, boxes in zip(pixels.frames, plan.frame_boxes, strict=True)
                if f is not None and boxes[i] is not None
            ]
            if per_frame:
                sides.setdefault(asset, []).append(float(np.median(per_frame)))
            ys, xs = np.nonzero(ids[0] == i + 1)
            box = plan.frame_boxes[0][i]
            if len(xs) >= 4 and box is not None:
                seen = max((xs.max() - xs.min() + 1) / width, (ys.max() - ys.min() + 1) / height)
                spans.setdefault(asset, []).append(float(seen / max(box.width, box.height)))
    print("| type | objects | short side: median | 10th percentile | span: median |")
    print("|---|---|---|---|---|")
    for asset in sorted(sides.keys() | spans.keys()):
        q10, q50 = np.percentile(sides.get(asset, [np.nan]), [10, 50])
        span = np.median(spans.get(asset, [np.nan]))
        print(f"| {asset} | {len(sides.get(asset, []))} | {q50:.2f} | {q10:.2f} | {span:.2f} |")
    every_side = [v for values in sides.values() for v in values]
    every_span = [v for values in spans.values() for v in values]
    print(
        f"all: {len(every_side)} objects, short side median {np.median(every_side):.2f}, span median "
        f"{np.median(every_span):.2f} ({len(every_span)} objects)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["render", "sheets", "measure", "calibrate", "shares", "adopt", "claims"])
    parser.add_argument("folders", nargs="*", type=Path, help="shares, adopt: folders kept by check --pixels -o")
    parser.add_argument("--seed", type=int, help="adopt: the seed the folder was drawn from")
    parser.add_argument("--indices", help="adopt: comma-separated combination indices to take")
    parser.add_argument("--prefix", default="p", help="adopt: name prefix (p: object labels, c: claim labels)")
    parser.add_argument("--count", type=int, default=len(CASES), help="render the first N cases only")
    args = parser.parse_args()
    step = args.step
    if step == "adopt":
        if len(args.folders) != 1 or args.seed is None or not args.indices:
            parser.error("adopt: give DIR --seed S --indices I,J,...")
        adopt(args.folders[0], args.seed, [int(i) for i in args.indices.split(",")], args.prefix)
    elif step == "shares":
        if not args.folders:
            parser.error("shares: give the folders kept by `simian check --pixels --seed S --count N -o DIR`")
        shares(args.folders)
    elif step == "render":
        render(args.count)
    elif step == "sheets":
        sheets()
    elif step == "claims":
        claim_figures()
    elif step == "measure":
        # Videos no longer in work/ keep their measures: the file is the record of everything labelled.
        kept = json.loads((HERE / "measures.json").read_text()) if (HERE / "measures.json").exists() else {}
        (HERE / "measures.json").write_text(json.dumps({**kept, **measures()}, indent=1) + "\n")
    else:
        calibrate()


def _objects(measured: dict[str, Any]) -> list[tuple[str, int, str, float, float, pixel_truth.ObjectPixels]]:
    found = []
    for name, case in measured.items():
        for index, obj in enumerate(case["objects"]):
            frames = tuple(None if f is None else pixel_truth.FrameMeasure(*f) for f in obj["frames"])
            found.append(
                (name, index, obj["asset"], case["yaw"], case["pitch"], pixel_truth.ObjectPixels(index, frames))
            )
    return found


def agreement(
    labels: dict[str, Any], measured: dict[str, Any], limits: pixel_truth.Thresholds
) -> tuple[int, list[str]]:
    """Objects where the rule and the eye agree, and a line per disagreement."""
    agree, disagreements = 0, []
    for name, index, asset, yaw, pitch, obj in _objects(measured):
        if name not in labels:
            continue
        seen = labels[name]["objects"][index] == "true"
        named = pixel_truth.recognisable(obj, asset, yaw, pitch, limits)
        if seen == named:
            agree += 1
        else:
            disagreements.append(
                f"{name} object {index} ({asset}): by eye {labels[name]['objects'][index]}, rule {named} "
                f"(short side {obj.median('short_side_px'):.0f} px, contrast {obj.median('contrast'):.0f}, "
                f"background variation {obj.median('clutter'):.0f})"
            )
    return agree, disagreements


def calibrate() -> None:
    labels = json.loads((HERE / "labels.json").read_text())
    measured = json.loads((HERE / "measures.json").read_text())
    total = sum(len(labels[name]["objects"]) for name in labels if name in measured)
    best = max(
        (
            pixel_truth.Thresholds(short_side_px=side, contrast=contrast)
            for side in range(6, 41, 2)
            for contrast in range(0, 31, 2)
        ),
        key=lambda limits: agreement(labels, measured, limits)[0],
    )
    current = pixel_truth.Thresholds()
    for title, limits in (("current thresholds", current), ("best on these labels", best)):
        agree, disagreements = agreement(labels, measured, limits)
        print(f"{title} {limits}: {agree} of {total} objects agree with the eye ({agree / total:.0%})")
        for line in disagreements:
            print("  " + line)


# ---- claim labels: every claim of a caption, judged by looking at the frames ---------------------------------------

CLAIMS = HERE / "claims.json"
LABELS = ("true", "false", "not_visible")


def _claim_key(claim: Any) -> str:
    return f"{claim.kind}:{','.join(map(str, claim.objects))}:{claim.word}"


def _has_feature(phrase: str) -> bool:
    """Whether an object phrase names a part or marking ('with white spots', 'on a thin pole')."""
    body = phrase.split(",")[0]
    return " with " in body or " on a " in body or " on four " in body


def todays_claims(name: str) -> list[tuple[str, str]]:
    """(key, text) of every claim today's captions make for a labelled render, features as 'feature:i'."""
    from simian.captions.long import describe
    from simian.scene.composition import plan_scene

    c = Combination.model_validate(_recipes()[name])
    description = describe(c, plan=plan_scene(c, SETTINGS.clip()))
    out = []
    for claim in description.claims:
        out.append((_claim_key(claim), claim.text if claim.kind != "object" else claim.text.split(",")[0]))
        if claim.kind == "object" and _has_feature(claim.text):
            out.append((f"feature:{claim.objects[0]}", claim.text.split(",")[0]))
    return out


def claim_figures() -> None:
    """By-eye claim labels against today's captions and the checker: true/false/not visible per kind, and how often
    the checker (the pixel rule for object names, the geometric check for the rest) agrees with the eye."""
    labelled = json.loads(CLAIMS.read_text())
    measured = {
        (name, index): obj for name, index, *_, obj in _objects(json.loads((HERE / "measures.json").read_text()))
    }
    counts: dict[str, dict[str, int]] = {}
    agree = total = 0
    unlabelled, disagreements = [], []
    for name, entry in labelled.items():
        c = Combination.model_validate(_recipes()[name])
        for key, text in todays_claims(name):
            label = entry["labels"].get(key)
            if label is None:
                unlabelled.append(f"{name} {key}: {text}")
                continue
            kind = key.split(":", 1)[0]
            counts.setdefault(kind, dict.fromkeys(LABELS, 0))[label] += 1
            total += 1
            if kind == "object":
                index = int(key.split(":")[1])
                obj = c.objects[index]
                verified = pixel_truth.recognisable(
                    measured[(name, index)], str(obj.asset), c.orientation.yaw, c.orientation.pitch
                )
            else:
                verified = True  # `simian check` verifies every other claim of these recipes (see CAPTION_TRUTH.md)
            if verified == (label == "true"):
                agree += 1
            else:
                disagreements.append(f"{name} {key} ({text}): by eye {label}, checker {verified}")
    print("| claim | true | false | not visible |")
    print("|---|---|---|---|")
    for kind in sorted(counts):
        row = counts[kind]
        print(f"| {kind} | {row['true']} | {row['false']} | {row['not_visible']} |")
    every = {label: sum(row[label] for row in counts.values()) for label in LABELS}
    print(
        f"\n{total} claims of {len(labelled)} videos: {every['true']} true, {every['false']} false "
        f"({every['false'] / total:.1%}), {every['not_visible']} not visible ({every['not_visible'] / total:.1%}); "
        f"the checker agrees with the eye on {agree} ({agree / total:.1%})"
    )
    for line in disagreements:
        print("  disagreement: " + line)
    for line in unlabelled:
        print("  not yet labelled (captions changed since): " + line)


if __name__ == "__main__":
    main()
