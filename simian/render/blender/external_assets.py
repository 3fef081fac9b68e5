"""Bring downloaded or user-supplied files into the scene: models, HDRIs and texture sets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bpy


def _importer(suffix: str) -> Callable[[str], object]:
    importers: dict[str, Callable[[str], object]] = {
        ".glb": lambda p: bpy.ops.import_scene.gltf(filepath=p, merge_vertices=True),
        ".gltf": lambda p: bpy.ops.import_scene.gltf(filepath=p, merge_vertices=True),
        ".obj": lambda p: bpy.ops.wm.obj_import(filepath=p),
        ".fbx": lambda p: bpy.ops.import_scene.fbx(filepath=p),
        ".stl": lambda p: bpy.ops.wm.stl_import(filepath=p),
        ".ply": lambda p: bpy.ops.wm.ply_import(filepath=p),
    }
    if suffix not in importers:
        raise RuntimeError(f"cannot import {suffix!r} models; supported: {', '.join(sorted(importers))}")
    return importers[suffix]


def import_model(path: Path) -> list[bpy.types.Object]:
    """Import a model file; return its top-level objects. A broken file raises with Blender's reason."""
    before = set(bpy.data.objects)
    try:
        result = _importer(path.suffix.lower())(str(path))
    except RuntimeError as exc:
        raise RuntimeError(f"Blender could not import {path}: {str(exc).removeprefix('Error: ').strip()}") from None
    if result != {"FINISHED"}:
        raise RuntimeError(f"importing {path.name} did not finish ({result})")
    new = [o for o in bpy.data.objects if o not in before]
    for obj in new:
        if obj.type not in {"MESH", "EMPTY"}:
            bpy.data.objects.remove(obj, do_unlink=True)
    new = [o for o in bpy.data.objects if o not in before]
    if not any(o.type == "MESH" for o in new):
        raise RuntimeError(f"{path.name} contains no mesh")
    return [o for o in new if o.parent is None or o.parent not in new]


def load_image(path: Path) -> bpy.types.Image:
    """Load an image and make sure Blender could read its pixels (`images.load` succeeds on any file)."""
    try:
        image = bpy.data.images.load(str(path), check_existing=True)
    except RuntimeError as exc:
        reason = str(exc).removeprefix("Error: ").strip()
        raise RuntimeError(f"Blender could not load the image {path}: {reason}") from None
    width, height = image.size  # reading the size decodes the file
    if width == 0 or height == 0:
        raise RuntimeError(f"Blender could not load the image {path}: not a readable image file")
    return image


def apply_hdri(scene: bpy.types.Scene, path: Path, strength: float = 1.0) -> None:
    world = bpy.data.worlds.new("world")
    scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    env = nodes.new("ShaderNodeTexEnvironment")
    env.image = load_image(path)
    background = nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = strength
    output = nodes.new("ShaderNodeOutputWorld")
    links.new(env.outputs["Color"], background.inputs["Color"])
    links.new(background.outputs["Background"], output.inputs["Surface"])


def texture_material(location: Path, uv_scale: tuple[float, float], uv_rotation_deg: float) -> bpy.types.Material:
    """A PBR material from a texture set folder ({Diffuse,nor_gl,Rough,AO,arm}.*) or one image."""
    maps = {p.stem: p for p in location.iterdir()} if location.is_dir() else {"Diffuse": location}
    if "Diffuse" not in maps:
        raise RuntimeError(f"texture set {location} has no Diffuse map")
    material = bpy.data.materials.new("floor")
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bsdf = nodes["Principled BSDF"]
    coords = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (uv_scale[0], uv_scale[1], 1.0)
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, uv_rotation_deg * 3.141592653589793 / 180)
    links.new(coords.outputs["UV"], mapping.inputs["Vector"])

    def image(name: str, color: bool) -> bpy.types.ShaderNode:
        node = nodes.new("ShaderNodeTexImage")
        node.image = load_image(maps[name])
        if not color:
            node.image.colorspace_settings.name = "Non-Color"
        links.new(mapping.outputs["Vector"], node.inputs["Vector"])
        return node

    links.new(image("Diffuse", True).outputs["Color"], bsdf.inputs["Base Color"])
    if "Rough" in maps:
        links.new(image("Rough", False).outputs["Color"], bsdf.inputs["Roughness"])
    elif "arm" in maps:
        split = nodes.new("ShaderNodeSeparateColor")
        links.new(image("arm", False).outputs["Color"], split.inputs["Color"])
        links.new(split.outputs["Green"], bsdf.inputs["Roughness"])
        links.new(split.outputs["Blue"], bsdf.inputs["Metallic"])
    if "nor_gl" in maps:
        normal = nodes.new("ShaderNodeNormalMap")
        links.new(image("nor_gl", False).outputs["Color"], normal.inputs["Color"])
        links.new(normal.outputs["Normal"], bsdf.inputs["Normal"])
    material.diffuse_color = (0.5, 0.5, 0.5, 1.0)
    return material
