"""Before and after: the same 16 combinations, every caption claim judged against Blender and pixels.

The combinations are seed 11 indices 0..9 and `simian combine --seed 12 --count 6 --movement
--ontop --camera-follow`. "Before" is an older commit (default: the one before captions were
checked), drawn and built by that commit's own code in a subprocess and saved as .blend files;
its captions are split into claims by `old_claims` below. "After" is this tree. Both are judged
by today's checker (`simian.render.blender.claim_check`) on Blender's scene; effect claims are judged by
pixels instead, as `bench/calibrate_effects.py` measures them: the claimed frame rendered at
320x180 with 8 samples, with and without the effect, counted visible when at least
`effects.PERCEPTIBLE_SHARE` of the pixels change by `effects.PERCEPTIBLE_STEP` (bloom over the
frame, ambient occlusion and motion blur over the frame or around the objects; motion blur at the
first and the middle frame, both must show it).

    .venv/bin/python bench/caption_truth.py [--before-ref 5428f99]   # about 20 minutes on 2 cores

Writes bench/caption_truth.json and prints the markdown table of bench/CAPTION_TRUTH.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from calibrate_effects import around, changed_share  # noqa: E402

from simian.captions.long import Claim, describe, distinct_names  # noqa: E402
from simian.combine.combiner import CombinerOptions, combination_for  # noqa: E402
from simian.recipe.combination import Combination, PostProcessing  # noqa: E402
from simian.recipe.vocabulary import CAMERA_MOVES, EFFECT_PHRASES  # noqa: E402
from simian.render.blender.claim_check import ClaimChecker, SceneView, Verdict, check_combination  # noqa: E402
from simian.render.render_settings import RenderSettings  # noqa: E402
from simian.scene import composition, effects  # noqa: E402
from simian.scene.composition import plan_scene  # noqa: E402
from simian.scene.projection import Box2D  # noqa: E402

SETTINGS = RenderSettings(width=320, height=180, frames=24, fps=24, samples=8, device="cpu")
CASES = [(11, i, {}) for i in range(10)] + [
    (12, i, {"movement": True, "ontop": True, "camera_follow": True}) for i in range(6)
]
OLD_MOTION = {
    "moves to the left": "left",
    "moves to the right": "right",
    "moves toward the camera": "toward",
    "moves away from the camera": "away",
    "rises upward": "up",
}


def extract_tree(ref: str, into: Path) -> Path:
    """The files of commit `ref` of this repository, unpacked into `into`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_with(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, check=True, capture_output=True, text=True)


def old_combinations(tree: Path, work: Path) -> list[Combination]:
    """The 16 recipes as the older code draws and captions them."""
    out = []
    for seed, flags in ((11, []), (12, ["--movement", "--ontop", "--camera-follow"])):
        count = "10" if seed == 11 else "6"
        target = work / f"old-{seed}.json"
        run_with(tree, "-m", "simian.cli", "combine", "--seed", str(seed), "--count", count, *flags, "-o", str(target))
        out += [Combination.model_validate(c) for c in json.loads(target.read_text())["combinations"]]
    return out


def old_claims(c: Combination) -> list[Claim]:
    """The claims of a caption written by the older code (its sentences follow fixed templates)."""
    caption = c.caption or ""
    names = distinct_names(c)
    index = {n: i for i, n in enumerate(names)}
    claims: list[Claim] = []
    objects_text = c.captions.objects if c.captions else caption
    intro = re.split(r"(?<=\.) (?=The |In |There )", objects_text)[0]
    phrases = re.sub(r"^(The scene features|In the scene there are|The scene shows|There is) ", "", intro)
    phrases = re.sub(r" in the scene\.$|\.$", "", phrases).split("; ")
    for i, phrase in enumerate(phrases):
        size = re.search(r"about ([0-9.]+) meters? \(([0-9.]+) feet\) across", phrase)
        claims.append(Claim("object", phrase, (i,), names[i]))
        if size:
            claims.append(Claim("size", size.group(0), (i,), "across", float(size.group(1))))
    name_pattern = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    for sentence in re.split(r"(?<=\.) (?=[A-Z])", caption):
        sentence = sentence.strip()
        if m := re.match(rf"The ({name_pattern}) sits on top of the ({name_pattern})\.", sentence):
            claims.append(Claim("on_top", sentence, (index[m[1]], index[m[2]])))
        elif m := re.match(rf"The ({name_pattern}) is (.+) the ({name_pattern})\.", sentence):
            i, j = index[m[1]], index[m[3]]
            for part in m[2].split(" and "):
                if part.startswith("to the "):
                    claims.append(Claim("side", sentence, (i, j), part.split()[2]))
                else:
                    claims.append(Claim("depth", sentence, (i, j), part))
        elif m := re.match(rf"The ({name_pattern}) (.+) at ([0-9.]+) meters per second\.", sentence):
            claims.append(Claim("object_motion", sentence, (index[m[1]],), OLD_MOTION[m[2]], float(m[3])))
        elif m := re.match(rf"The camera follows the ({name_pattern}) as it moves\.", sentence):
            claims.append(Claim("camera_travels", sentence, (index[m[1]],)))
        elif m := re.match(r"The background is an? (.+)\.", sentence):
            claims.append(Claim("background", sentence, (), m[1]))
        elif m := re.match(r"The floor is (.+)\.", sentence):
            claims.append(Claim("floor", sentence, (), m[1]))
        elif m := re.match(
            r"The camera views the scene from the (\S+) side, .* \((-?\d+) degrees of elevation\)\.", sentence
        ):
            claims.append(Claim("view_side", sentence, (), m[1], c.orientation.yaw))
            claims.append(Claim("elevation", sentence, (), "", float(m[2])))
        elif m := re.match(r"It is an? (.+) with a (\d+) degree field of view", sentence):
            claims.append(Claim("framing", sentence, (), m[1]))
            claims.append(Claim("fov", sentence, (), "", float(m[2])))
        elif sentence == "The camera holds still.":
            claims.append(Claim("camera_still", sentence))
        elif m := re.match(r"(The camera .+?) (slowly|steadily|quickly|very quickly), at ([0-9.]+) ", sentence):
            move = next(name for name, mv in CAMERA_MOVES.items() if mv.phrase == m[1])
            claims.append(Claim("camera_move", sentence, (), move, float(m[3])))
        elif sentence.startswith("The image has "):
            for effect, levels in EFFECT_PHRASES.items():
                for level, phrase in levels.items():
                    if phrase in sentence:
                        claims.append(Claim("effect", sentence, (), effect, None, level))
    return claims


def judge_old(c: Combination, blend: Path, claims: list[Claim]) -> tuple[list[Verdict], list[list[Box2D | None]]]:
    """Today's checker on the older code's built scene (claims it has no words for judged here),
    and Blender's object boxes per frame."""
    import bpy
    from mathutils import Vector

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    view = SceneView(bpy.context.scene, SETTINGS, len(c.objects))
    checker = ClaimChecker(c, view, composition.DEFAULT_RULES)
    following = any(o.camera_follow for o in c.objects)
    verdicts = []
    for claim in claims:
        if claim.kind == "effect":
            continue  # judged by pixels
        if claim.kind == "size":  # "across": the horizontal extent
            lo, hi = view.at(1)["bounds"][claim.objects[0]]
            across = max(hi[0] - lo[0], hi[1] - lo[1])
            verdicts.append(Verdict(claim, abs(across - claim.value) <= 0.02 * claim.value, f"{across:.3f} m across"))
            continue
        if claim.kind == "object_motion" and following:  # as seen from the following camera
            i = claim.objects[0]
            a, b = view.at(1), view.at(SETTINGS.frames)
            start, end = Vector(view.center(1, i)), Vector(view.center(SETTINGS.frames, i))
            d0, d1 = (start - a["camera"].translation).length, (end - b["camera"].translation).length
            box0, box1 = a["boxes"][i], b["boxes"][i]
            dx = box1.center[0] - box0.center[0] if box0 and box1 else 0.0
            moved = {"toward": d0 - d1, "away": d1 - d0, "left": -dx, "right": dx, "up": end.z - start.z}[claim.word]
            verdicts.append(Verdict(claim, moved > 0.01, f"as seen: {moved:+.3f}"))
            continue
        verdicts.append(checker.judge(claim))
    return verdicts, [list(view.at(f)["boxes"]) for f in view.frames]


def load_png(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def judge_effects(
    tree: Path, c: Combination, claims: list[Claim], work: Path, tag: str, boxes: list[list[Box2D | None]]
) -> list[Verdict]:
    """Render the claimed frames with and without each claimed effect: is the difference visible?"""
    verdicts = []
    recipe = work / f"{tag}.json"
    recipe.write_text(c.model_dump_json())
    cache: dict[tuple[str, int], np.ndarray] = {}

    def frame(path: Path, number: int, key: str) -> np.ndarray:
        if (key, number) not in cache:
            out = work / f"{tag}-{key}-{number}.png"
            run_with(tree, str(REPO / "bench" / "scene_tool.py"), "frame", str(path), str(number), str(out))
            cache[(key, number)] = load_png(out)
        return cache[(key, number)]

    for claim in claims:
        if claim.kind != "effect":
            continue
        pp = c.postprocessing.model_dump()
        pp[claim.word]["level"] = "none"
        if claim.word == "motion_blur":
            pp[claim.word]["shutter"] = 0.0
        without = work / f"{tag}-no-{claim.word}.json"
        without.write_text(c.model_copy(update={"postprocessing": PostProcessing.model_validate(pp)}).model_dump_json())
        frames = (1, SETTINGS.frames // 2) if claim.word == "motion_blur" else (1,)
        shares = []
        for number in frames:
            region = None
            if claim.word != "bloom":
                near = boxes[number - 1] + (boxes[number] if claim.word == "motion_blur" else [])
                region = around(near, SETTINGS.width, SETTINGS.height)
            plain = frame(without, number, f"no-{claim.word}")
            shares.append(changed_share(frame(recipe, number, "with"), plain, region))
        ok = min(shares) >= effects.PERCEPTIBLE_SHARE
        verdicts.append(Verdict(claim, ok, "changed " + ", ".join(f"{s:.1%}" for s in shares)))
    return verdicts


def new_combinations() -> list[Combination]:
    return [combination_for(seed, i, CombinerOptions(**flags)) for seed, i, flags in CASES]


def summarise(verdicts: list[Verdict]) -> dict[str, Any]:
    return {
        "claims": len(verdicts),
        "verified": sum(v.ok for v in verdicts),
        "failed": [f"{v.claim.kind}: {v.claim.text[:90]} ({v.detail})" for v in verdicts if not v.ok],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-ref", default="5428f99", help="commit of the code before the change")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="simian-truth-") as tmp:
        work = Path(tmp)
        old_tree = extract_tree(args.before_ref, work / "old")
        olds = old_combinations(old_tree, work)
        news = new_combinations()
        for (seed, index, _), old, new in zip(CASES, olds, news, strict=True):
            tag = f"s{seed}-{index}"
            recipe = work / f"old-{tag}.json"
            recipe.write_text(old.model_dump_json())
            blend = work / f"old-{tag}.blend"
            run_with(old_tree, str(REPO / "bench" / "scene_tool.py"), "blend", str(recipe), str(blend))
            claims = old_claims(old)
            before, old_boxes = judge_old(old, blend, claims)
            before += judge_effects(old_tree, old, claims, work, f"old-{tag}", old_boxes)
            new_claims = list(describe(new).claims)
            report = check_combination(new, SETTINGS)
            after = [v for v in report.verdicts if v.claim.kind != "effect" and v.claim.field == "caption"]
            new_boxes = [list(frame) for frame in plan_scene(new).frame_boxes]
            after += judge_effects(REPO, new, new_claims, work, f"new-{tag}", new_boxes)
            rows.append(
                {
                    "seed": seed,
                    "index": index,
                    "before": summarise(before),
                    "after": summarise(after),
                    "before_caption": old.caption,
                    "after_caption": new.caption,
                }
            )
            print(
                f"{tag}: before {rows[-1]['before']['verified']}/{rows[-1]['before']['claims']}, "
                f"after {rows[-1]['after']['verified']}/{rows[-1]['after']['claims']}",
                flush=True,
            )
    (REPO / "bench" / "caption_truth.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| combination | before: claims | before: verified | after: claims | after: verified |",
        "|---|---|---|---|---|",
    ]
    totals = [0, 0, 0, 0]
    for row in rows:
        b, a = row["before"], row["after"]
        values = [b["claims"], b["verified"], a["claims"], a["verified"]]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        lines.append(f"| seed {row['seed']} #{row['index']} | " + " | ".join(str(v) for v in values) + " |")
    lines.append("| **all 16** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
