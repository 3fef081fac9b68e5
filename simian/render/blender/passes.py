"""Ground-truth passes in Blender: turned on for the one render that makes the video, written by the
compositor as float EXR frames into a work folder, and read back as arrays once the render is done.

Segmentation and flow both need the object index: every mesh of caption object i carries pass index i + 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy
import numpy as np

from simian.recipe.combination import Combination
from simian.render import pass_arrays as passes
from simian.render.render_settings import RenderSettings
from simian.scene import ground_truth
from simian.scene.composition import plan_scene

#: File Output items: (item name, socket type, Render Layers output) per raw buffer.
_BUFFERS = {
    "depth": ("depth_", "FLOAT", "Depth"),
    "normal": ("normal_", "VECTOR", "Normal"),
    "index": ("index_", "FLOAT", "Object Index"),
}
_VIEW_LAYER_PASSES = {"depth": "use_pass_z", "normal": "use_pass_normal", "index": "use_pass_object_index"}


def raw_buffers(settings: RenderSettings) -> list[str]:
    """The raw buffers the asked-for passes are made from."""
    wanted = set()
    for name in settings.passes:
        wanted |= {
            "depth": {"depth"},
            "normal": {"normal", "depth"},
            "segmentation": {"index"},
            "flow": {"depth", "index"},
        }[name]
    return [name for name in _BUFFERS if name in wanted]


def tag_objects(roots: list[bpy.types.Object]) -> None:
    for i, root in enumerate(roots):
        for part in [root, *root.children_recursive]:
            part.pass_index = i + 1


def _compositor(scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """The scene's compositor, or a new one that passes the image through unchanged."""
    tree = scene.compositing_node_group
    if tree is None:
        tree = bpy.data.node_groups.new("compositor", "CompositorNodeTree")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        layers = tree.nodes.new("CompositorNodeRLayers")
        output = tree.nodes.new("NodeGroupOutput")
        tree.links.new(layers.outputs["Image"], output.inputs[0])
        scene.compositing_node_group = tree
        scene.render.use_compositing = True
    return tree


def enable(scene: bpy.types.Scene, settings: RenderSettings, roots: list[bpy.types.Object], folder: Path) -> None:
    """Turn on the buffers the passes need and write them, per frame, as 32-bit float EXR into `folder`."""
    buffers = raw_buffers(settings)
    if not buffers:
        return
    layer = scene.view_layers[0]
    for name in buffers:  # passes first: the render layer node offers only enabled passes
        setattr(layer, _VIEW_LAYER_PASSES[name], True)
    if "index" in buffers:
        tag_objects(roots)
    tree = _compositor(scene)
    layers = next(n for n in tree.nodes if n.bl_idname == "CompositorNodeRLayers")
    out = tree.nodes.new("CompositorNodeOutputFile")
    out.directory = str(folder)
    out.file_name = ""
    out.save_as_render = False  # data, not colour: no view transform
    out.format.media_type = "IMAGE"
    out.format.file_format = "OPEN_EXR"
    out.format.color_depth = "32"
    out.format.exr_codec = "ZIP"
    for name in buffers:
        item_name, socket_type, source = _BUFFERS[name]
        item = out.file_output_items.new(socket_type, item_name)
        tree.links.new(layers.outputs[source], out.inputs[item.name])


def read(folder: Path, buffer: str, frame: int, channels: int) -> np.ndarray:
    """One raw buffer of one frame as float32 rows top to bottom (height x width [x channels])."""
    path = folder / f"{_BUFFERS[buffer][0]}{frame:04d}.exr"
    image = bpy.data.images.load(str(path))
    try:
        image.colorspace_settings.name = "Non-Color"
        width, height = image.size
        pixels = np.empty(width * height * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    rgba = pixels.reshape(height, width, 4)[::-1]
    return np.ascontiguousarray(rgba[..., 0] if channels == 1 else rgba[..., :channels])


def write(combination: Combination, settings: RenderSettings, folder: Path, targets: dict[str, Path]) -> list[Any]:
    """Turn the rendered EXR frames into the stored pass files (`targets`, one per pass); return each object's
    visible box and pixel count per frame when segmentation was rendered (else an empty list)."""
    plan = plan_scene(combination, settings.clip())
    cameras = ground_truth.camera_frames(plan, settings.frames, settings.fps, settings.width, settings.height)
    buffers = raw_buffers(settings)
    clip_end = float(bpy.context.scene.camera.data.clip_end)
    count = len(combination.objects)
    stored: dict[str, list[np.ndarray]] = {name: [] for name in settings.passes}
    visible: list[dict[str, Any]] = [{"id": i + 1, "box": [], "pixels": []} for i in range(count)]
    for n, camera in enumerate(cameras):
        raw = {b: read(folder, b, camera.frame, 3 if b == "normal" else 1) for b in buffers}
        ids = passes.instance_ids(raw["index"]) if "index" in raw else None
        if "depth" in stored:
            stored["depth"].append(passes.depth_metres(raw["depth"], clip_end))
        if "normal" in stored:
            stored["normal"].append(passes.camera_normals(raw["normal"], raw["depth"], clip_end, camera))
        if "segmentation" in stored and ids is not None:
            stored["segmentation"].append(ids)
            for track, (box, pixels) in zip(visible, passes.silhouettes(ids, count), strict=True):
                track["box"].append(box)
                track["pixels"].append(pixels)
        if "flow" in stored and ids is not None:
            if n + 1 < len(cameras):
                following = cameras[n + 1]
                moves = []
                for i in range(count):
                    now, then = plan.object_offset(i, camera.time_s), plan.object_offset(i, following.time_s)
                    moves.append((then[0] - now[0], then[1] - now[1], then[2] - now[2]))
                stored["flow"].append(passes.forward_flow(raw["depth"], clip_end, ids, camera, following, moves))
            else:
                stored["flow"].append(passes.last_frame_flow(settings.height, settings.width))
    for name, frames in stored.items():
        passes.save(targets[name], name, frames)
    return visible if "segmentation" in stored else []
