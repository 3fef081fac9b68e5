"""Turn a combination plus its scene plan into a Blender scene (runs inside the render child).

The geometry comes from `simian.scene.plan`, the same numbers the captions were written from;
this module only mirrors them into bpy, keyframing every frame so the video matches the plan.
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
from bpy_extras import anim_utils
from mathutils import Euler, Matrix, Vector

from simian.assets.refs import AssetRef
from simian.assets.sources import SOURCES
from simian.recipe.combination import Combination
from simian.recipe.vocabulary import SENSOR_WIDTH_MM
from simian.render.blender import builtin_floors, builtin_objects, builtin_world, external_assets, passes
from simian.render.blender.device import configure_cycles_device
from simian.render.render_settings import ENGINE_IDS, RenderSettings
from simian.scene import effects
from simian.scene.composition import plan_scene
from simian.scene.plan import ScenePlan

FLOOR_SIZE = 400.0
#: Depth beyond anything in the scene: a pixel this far shows the sky.
SKY_DEPTH = FLOOR_SIZE * 10


def reset_scene() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def _world_bounds(objects: list[bpy.types.Object]) -> tuple[Vector, Vector]:
    lo = Vector((math.inf,) * 3)
    hi = Vector((-math.inf,) * 3)
    for obj in objects:
        if obj.type != "MESH":
            continue
        for corner in obj.bound_box:
            world = obj.matrix_world @ Vector(corner)
            lo = Vector(min(a, b) for a, b in zip(lo, world, strict=True))
            hi = Vector(max(a, b) for a, b in zip(hi, world, strict=True))
    if lo.x == math.inf:
        raise RuntimeError("the asset holds no mesh geometry")
    return lo, hi


def _add_object(ref: AssetRef, asset_paths: dict[str, str], name: str) -> bpy.types.Object:
    """Build or import an asset under one empty root whose origin is the asset's bottom centre."""
    if SOURCES[ref.source].procedural:
        parts = [builtin_objects.build_object(ref.id)]
    else:
        parts = external_assets.import_model(Path(asset_paths[str(ref)]))
    bpy.context.view_layer.update()
    lo, hi = _world_bounds(parts)
    size = max(hi - lo)
    if size <= 0:
        raise RuntimeError(f"{ref}: the asset has zero size")
    root = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(root)
    offset = Matrix.Translation(Vector(((lo.x + hi.x) / -2, (lo.y + hi.y) / -2, -lo.z)))
    normalise = Matrix.Scale(1.0 / size, 4) @ offset
    for part in parts:
        if part.parent is None:
            part.parent = root
            part.matrix_world = normalise @ part.matrix_world
    root["normalised_height"] = (hi.z - lo.z) / size
    return root


def _place_objects(
    combination: Combination, plan: ScenePlan, settings: RenderSettings, asset_paths: dict[str, str]
) -> list[bpy.types.Object]:
    roots = []
    tops: dict[int, float] = {}
    for i, obj in enumerate(combination.objects):
        root = _add_object(AssetRef.parse(obj.asset), asset_paths, f"object_{i}_{obj.name}")
        factor = obj.scale.factor
        root.scale = (factor, factor, factor)
        track = plan.objects[i]
        base_z = tops.get(obj.placement, 0.0)
        tops[obj.placement] = base_z + root["normalised_height"] * factor
        rest = Vector((track.rest[0], track.rest[1], base_z))
        root.location = rest
        if track.velocity != (0.0, 0.0, 0.0):
            for frame in range(1, settings.frames + 1):
                off = plan.object_offset(i, (frame - 1) / settings.fps)
                root.location = rest + Vector(off)
                root.keyframe_insert("location", frame=frame)
        roots.append(root)
    return roots


def _camera_matrix_euler(heading: float, look_pitch: float, roll: float, previous: Euler | None) -> Euler:
    rot = (
        Matrix.Rotation(math.radians(heading - 90.0), 4, "Z")
        @ Matrix.Rotation(math.radians(90.0 - look_pitch), 4, "X")
        @ Matrix.Rotation(math.radians(roll), 4, "Z")
    )
    return rot.to_euler("XYZ", previous) if previous is not None else rot.to_euler("XYZ")


def _add_camera(scene: bpy.types.Scene, plan: ScenePlan, settings: RenderSettings) -> bpy.types.Object:
    data = bpy.data.cameras.new("camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = SENSOR_WIDTH_MM
    data.clip_start = 0.05
    data.clip_end = FLOOR_SIZE * 2
    camera = bpy.data.objects.new("camera", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    if plan.combination.background.asset == builtin_world.STUDIO_REF and plan.backdrop is not None:
        builtin_world.add_studio_set(scene, plan.backdrop, plan.camera_at(0.0).location)
    previous: Euler | None = None
    animated = plan.move.quantity != "none" or any(t.velocity != (0.0, 0.0, 0.0) for t in plan.objects)
    frames = range(1, settings.frames + 1) if animated else range(1, 2)
    for frame in frames:
        pose = plan.camera_at((frame - 1) / settings.fps)
        camera.location = pose.location
        previous = _camera_matrix_euler(pose.heading_deg, pose.look_pitch_deg, pose.roll_deg, previous)
        camera.rotation_euler = previous
        data.angle = math.radians(pose.fov_deg)
        if animated:
            camera.keyframe_insert("location", frame=frame)
            camera.keyframe_insert("rotation_euler", frame=frame)
            data.keyframe_insert("lens", frame=frame)
    return camera


def _add_background(scene: bpy.types.Scene, combination: Combination, asset_paths: dict[str, str]) -> None:
    ref = AssetRef.parse(combination.background.asset)
    if SOURCES[ref.source].procedural:
        builtin_world.apply_background(scene, ref.id)
        # A smooth procedural sky needs only a coarse importance map; the default 1024 map is
        # re-evaluated per frame and cost ten times the render itself at small sizes.
        scene.world.cycles.sampling_method = "MANUAL"
        scene.world.cycles.sample_map_resolution = 128
    else:
        external_assets.apply_hdri(scene, Path(asset_paths[str(ref)]))


def _add_floor(combination: Combination, asset_paths: dict[str, str]) -> None:
    stage = combination.stage
    ref = AssetRef.parse(stage.floor)
    if SOURCES[ref.source].procedural:
        material = builtin_floors.make_floor_material(ref.id, stage.uv_scale, stage.uv_rotation)
    else:
        material = external_assets.texture_material(Path(asset_paths[str(ref)]), stage.uv_scale, stage.uv_rotation)
    builtin_floors.build_floor(material, FLOOR_SIZE)


def _configure_engine(
    scene: bpy.types.Scene, combination: Combination, settings: RenderSettings, gpu_backends: list[str]
) -> str:
    scene.render.engine = ENGINE_IDS[settings.engine]
    device = "CPU"
    if settings.engine == "cycles":
        device = configure_cycles_device(scene, settings.device, gpu_backends)
        scene.cycles.samples = settings.samples
        scene.cycles.seed = combination.index % 2**31  # Cycles takes 0..2**31-1; any index renders
        scene.cycles.use_animated_seed = True
        scene.cycles.use_denoising = settings.samples >= 8
        scene.cycles.max_bounces = 4
        scene.cycles.use_adaptive_sampling = True
        tune_cycles(scene, device)
    elif settings.engine == "eevee":
        scene.eevee.taa_render_samples = settings.samples
        device = "GPU (OpenGL/EGL)"
    else:
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
        scene.display.render_aa = "8" if settings.samples >= 8 else "FXAA"
        device = "GPU (OpenGL/EGL)"
    blur = combination.postprocessing.motion_blur.level
    scene.render.use_motion_blur = settings.engine != "workbench" and blur != "none"
    if scene.render.use_motion_blur:
        scene.render.motion_blur_shutter = effects.shutter_for(blur)
        scene.render.motion_blur_position = "CENTER"
        _extend_motion(scene)
    return device


#: Cycles settings that cut Blender's time at the quality of the untuned render (bench/render_tuning.py, section 12
#: of bench/RESULTS.md): the OpenImageDenoise filter is about half of the CPU time of a 320x180, 8-sample frame, and
#: its FAST model (for the image and its albedo and normal guides) costs a third of the HIGH one at a few tenths of a
#: dB; caustic paths only add noise at 8 samples; the light tree costs more than it saves with a sky and a few lights.
CYCLES_TUNING: dict[str, object] = {
    "denoising_quality": "FAST",
    "caustics_reflective": False,
    "caustics_refractive": False,
    "use_light_tree": False,
}
#: The compositor's denoiser (the ambient-occlusion pass) at the same quality as the render's.
COMPOSITOR_DENOISE_QUALITY = "FAST"


def tune_cycles(scene: bpy.types.Scene, device: str) -> None:
    """Apply `CYCLES_TUNING`; on a GPU the denoiser runs there too (Blender keeps it on the CPU by default, which
    would leave the GPU idle while the CPU denoises every frame)."""
    for key, value in CYCLES_TUNING.items():
        setattr(scene.cycles, key, value)
    scene.cycles.denoising_use_gpu = device != "CPU"
    scene.render.compositor_denoise_final_quality = COMPOSITOR_DENOISE_QUALITY


def _extend_motion(scene: bpy.types.Scene) -> None:
    """Continue every animation in a straight line past the first and last frame, so that the
    shutter interval of those frames sees motion too (no sharp first or last frame)."""
    owners = [*scene.objects, *(o.data for o in scene.objects if o.data is not None)]
    for owner in owners:
        animation = getattr(owner, "animation_data", None)
        if animation is None or animation.action is None:
            continue
        channels = anim_utils.animdata_get_channelbag_for_assigned_slot(animation)
        if channels is None:
            continue
        for curve in channels.fcurves:
            for key in curve.keyframe_points:
                key.interpolation = "LINEAR"
            curve.extrapolation = "LINEAR"


def _socket(sockets: bpy.types.bpy_prop_collection, identifier: str) -> bpy.types.NodeSocket:
    """Mix nodes repeat socket names per data type; only identifiers are unique."""
    return next(s for s in sockets if s.identifier == identifier)


def _configure_compositor(scene: bpy.types.Scene, combination: Combination, settings: RenderSettings) -> None:
    """Bloom (glare) and ambient occlusion (AO pass multiplied in) at their calibrated levels
    (`simian.scene.effects`), where the engine renders them."""
    pp = combination.postprocessing
    bloom = effects.BLOOM.get(pp.bloom.level)
    occlusion = effects.AMBIENT_OCCLUSION.get(pp.ambient_occlusion.level)
    if settings.engine not in ("cycles", "eevee"):
        occlusion = None
    if bloom is None and occlusion is None:
        return
    if occlusion is not None:  # passes first: the render layer node lists only enabled passes
        scene.view_layers[0].use_pass_ambient_occlusion = True
        scene.view_layers[0].use_pass_z = True
    tree = bpy.data.node_groups.new("compositor", "CompositorNodeTree")
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    layers = tree.nodes.new("CompositorNodeRLayers")
    output = tree.nodes.new("NodeGroupOutput")
    image = layers.outputs["Image"]
    if occlusion is not None:
        largest = max(o.scale.factor for o in combination.objects)
        scene.world.light_settings.distance = occlusion.distance * largest
        mix = tree.nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.blend_type = "MULTIPLY"
        mix.inputs["Factor"].default_value = occlusion.factor
        tree.links.new(image, _socket(mix.inputs, "A_Color"))
        # The raw AO pass is noisy at few samples; denoised, it darkens creases instead of adding grain.
        denoise = tree.nodes.new("CompositorNodeDenoise")
        denoise.inputs["HDR"].default_value = False
        tree.links.new(layers.outputs["Ambient Occlusion"], denoise.inputs["Image"])
        # The sky has no surface to occlude: where nothing was hit (infinite depth) AO counts as open.
        sky = tree.nodes.new("ShaderNodeMath")
        sky.operation = "GREATER_THAN"
        sky.inputs[1].default_value = SKY_DEPTH
        tree.links.new(layers.outputs["Depth"], sky.inputs[0])
        deepened = tree.nodes.new("ShaderNodeMath")
        deepened.operation = "POWER"
        deepened.inputs[1].default_value = occlusion.contrast
        tree.links.new(denoise.outputs["Image"], deepened.inputs[0])
        opened = tree.nodes.new("ShaderNodeMath")
        opened.operation = "MAXIMUM"
        tree.links.new(deepened.outputs["Value"], opened.inputs[0])
        tree.links.new(sky.outputs["Value"], opened.inputs[1])
        tree.links.new(opened.outputs["Value"], _socket(mix.inputs, "B_Color"))
        image = _socket(mix.outputs, "Result_Color")
    if bloom is not None:
        glare = tree.nodes.new("CompositorNodeGlare")
        glare.inputs["Type"].default_value = "Bloom"
        glare.inputs["Quality"].default_value = "High"
        # Threshold = mean + spread x standard deviation of the frame's luminance (clipped to white, so a
        # few blinding pixels do not lift it above everything else): the bright parts of any shot glow.
        luminance = tree.nodes.new("CompositorNodeRGBToBW")
        tree.links.new(image, luminance.inputs["Image"])
        clipped = tree.nodes.new("ShaderNodeMath")
        clipped.operation = "MINIMUM"
        clipped.inputs[1].default_value = 1.0
        tree.links.new(luminance.outputs["Val"], clipped.inputs[0])
        levels = tree.nodes.new("CompositorNodeLevels")
        tree.links.new(clipped.outputs["Value"], levels.inputs["Image"])
        threshold = tree.nodes.new("ShaderNodeMath")
        threshold.operation = "MULTIPLY_ADD"
        threshold.inputs[1].default_value = bloom.spread
        tree.links.new(levels.outputs["Standard Deviation"], threshold.inputs[0])
        tree.links.new(levels.outputs["Mean"], threshold.inputs[2])
        tree.links.new(threshold.outputs["Value"], glare.inputs["Threshold"])
        glare.inputs["Strength"].default_value = bloom.strength
        glare.inputs["Size"].default_value = bloom.size
        tree.links.new(image, glare.inputs["Image"])
        image = glare.outputs[0]
    tree.links.new(image, output.inputs[0])
    scene.compositing_node_group = tree
    scene.render.use_compositing = True


def _configure_output(scene: bpy.types.Scene, settings: RenderSettings, target: Path) -> None:
    render = scene.render
    render.resolution_x = settings.width
    render.resolution_y = settings.height
    render.resolution_percentage = 100
    render.fps = settings.fps
    render.fps_base = 1.0
    scene.frame_start = 1
    scene.frame_end = settings.frames
    image = render.image_settings
    if settings.images:
        image.media_type = "IMAGE"
        image.file_format = "PNG"
        image.color_mode = "RGB"
        render.filepath = str(target / "frame_####")
    else:
        image.media_type = "VIDEO"
        image.file_format = "FFMPEG"
        ffmpeg = render.ffmpeg
        ffmpeg.format = "MPEG4"
        ffmpeg.codec = "H264"
        ffmpeg.constant_rate_factor = "HIGH"
        ffmpeg.ffmpeg_preset = "GOOD"
        ffmpeg.gopsize = max(1, settings.fps)
        ffmpeg.audio_codec = "NONE"
        render.filepath = str(target)
    render.use_file_extension = True
    render.use_overwrite = True


def build_scene(
    combination: Combination,
    settings: RenderSettings,
    asset_paths: dict[str, str],
    target: Path,
    gpu_backends: list[str],
    passes_folder: Path | None = None,
) -> str:
    """Build the whole scene, with the ground-truth passes of `settings` written per frame into `passes_folder`;
    return the device used."""
    scene = reset_scene()
    plan = plan_scene(combination, settings.clip())
    _add_background(scene, combination, asset_paths)
    _add_floor(combination, asset_paths)
    roots = _place_objects(combination, plan, settings, asset_paths)
    _add_camera(scene, plan, settings)
    device = _configure_engine(scene, combination, settings, gpu_backends)
    _configure_compositor(scene, combination, settings)
    if passes_folder is not None:
        passes.enable(scene, settings, roots, passes_folder)
    _configure_output(scene, settings, target)
    return device


def render_animation() -> None:
    bpy.ops.render.render(animation=True)
