"""Build or render one recipe with whichever `simian` is first on the path (this tree or an older one).

Used by `bench/caption_truth.py` to judge an older version's videos with today's checker:

    python bench/scene_tool.py blend RECIPE.json OUT.blend           # the built scene, not rendered
    python bench/scene_tool.py frame RECIPE.json FRAME OUT.png       # one frame at 320x180, 8 samples

Only APIs that have not changed between versions are used (Combination, RenderSettings,
build_scene), so the same script drives both.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path


def main() -> None:
    import bpy

    import simian
    from simian.recipe.combination import Combination
    from simian.render.blender.scene import build_scene
    from simian.render.render_settings import RenderSettings

    command, recipe = sys.argv[1], Path(sys.argv[2])
    combination = Combination.model_validate(json.loads(recipe.read_text(encoding="utf-8")))
    settings = RenderSettings(width=320, height=180, frames=24, fps=24, samples=8, device="cpu", images=True)
    print(f"scene_tool: simian from {Path(simian.__file__).parent}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        build_scene(combination, settings, {}, Path(tmp), [])
        scene = bpy.context.scene
        if command == "blend":
            bpy.ops.wm.save_as_mainfile(filepath=str(Path(sys.argv[3]).resolve()))
            return
        frame, out = int(sys.argv[3]), Path(sys.argv[4])
        scene.frame_start = scene.frame_end = frame
        bpy.ops.render.render(animation=True)
        shutil.copyfile(next(Path(tmp).glob("frame_*.png")), out)


if __name__ == "__main__":
    main()
