"""Parametric built-in objects (the `builtin:` object catalogue), built with bmesh.

Each builder assembles one mesh from simple parts (boxes, cylinders, spheres, surfaces of
revolution, tori, extruded outlines) with one material slot per surface colour, so that the
object looks like its catalogue description. bmesh is used instead of `bpy.ops` because operators
are slow and depend on UI context; every build here takes a few milliseconds.

Conventions: Z is up, the front faces -Y, and the origin sits at the bottom centre of the
bounding box. Absolute size is irrelevant (the renderer rescales), proportions are realistic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import bmesh
import bpy
from mathutils import Matrix, Vector

Vec3 = tuple[float, float, float]
RGB = tuple[float, float, float]

_SHARP_ANGLE = math.radians(50.0)  # edges sharper than this render flat-shaded; rounder ones smooth


# --------------------------------------------------------------------------------------------
# Materials
# --------------------------------------------------------------------------------------------


def _principled(mat: bpy.types.Material) -> bpy.types.Node:
    """The material's Principled BSDF, creating the node tree if this Blender has none yet."""
    if mat.node_tree is None:  # Blender < 5 creates node trees only on request
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    for node in nodes:
        if node.type == "BSDF_PRINCIPLED":
            return node
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    out = next((n for n in nodes if n.type == "OUTPUT_MATERIAL"), None) or nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return bsdf


def _material(
    name: str,
    color: RGB,
    roughness: float = 0.5,
    metallic: float = 0.0,
    coat: float = 0.0,
    emission: float = 0.0,
    grain: bool = False,
) -> bpy.types.Material:
    """A named Principled material, reused if the scene already has it.

    `diffuse_color` mirrors the base colour so the Workbench engine shows the same colours.
    `grain` adds a procedural wood grain (darker bands) in object space.
    """
    full = f"simian_{name}"
    mat = bpy.data.materials.get(full)
    if mat is not None:
        return mat
    mat = bpy.data.materials.new(full)
    bsdf = _principled(mat)
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    bsdf.inputs["Coat Weight"].default_value = coat
    if emission > 0.0:
        bsdf.inputs["Emission Color"].default_value = (*color, 1.0)
        bsdf.inputs["Emission Strength"].default_value = emission
    if grain:
        nt = mat.node_tree
        coords = nt.nodes.new("ShaderNodeTexCoord")
        wave = nt.nodes.new("ShaderNodeTexWave")
        wave.wave_type = "BANDS"
        wave.bands_direction = "Z"
        wave.inputs["Scale"].default_value = 6.0
        wave.inputs["Distortion"].default_value = 8.0
        wave.inputs["Detail"].default_value = 2.0
        ramp = nt.nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*(c * 0.6 for c in color), 1.0)
        ramp.color_ramp.elements[1].color = (*color, 1.0)
        nt.links.new(coords.outputs["Object"], wave.inputs["Vector"])
        nt.links.new(wave.outputs["Color"], ramp.inputs["Factor"])
        nt.links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    # Viewport settings are what Workbench shows: keep them non-metallic, because Workbench has no
    # environment to reflect and renders metals (brass, steel) nearly black.
    mat.diffuse_color = (*color, 1.0)
    mat.roughness = roughness
    mat.metallic = 0.0
    return mat


# Palette: linear RGB, shared between objects (one material per name per scene).
def _wood() -> bpy.types.Material:
    return _material("wood", (0.42, 0.22, 0.09), roughness=0.55, grain=True)


def _wood_dark() -> bpy.types.Material:
    return _material("wood_dark", (0.24, 0.12, 0.05), roughness=0.6, grain=True)


def _black(name: str = "black_matte") -> bpy.types.Material:
    return _material(name, (0.015, 0.015, 0.015), roughness=0.8)


def _steel() -> bpy.types.Material:
    return _material("steel", (0.75, 0.75, 0.77), roughness=0.25, metallic=1.0)


def _brass() -> bpy.types.Material:
    return _material("brass", (0.8, 0.55, 0.2), roughness=0.3, metallic=1.0)


# --------------------------------------------------------------------------------------------
# Mesh builder
# --------------------------------------------------------------------------------------------


def _placement(center: Sequence[float], rotation: Matrix | None = None) -> Matrix:
    """A 4x4 matrix that rotates (3x3 `rotation`) and then moves to `center`."""
    mat = Matrix.Translation(Vector(center))
    if rotation is not None:
        mat = mat @ rotation.to_4x4()
    return mat


def _rot(axis: str, degrees: float) -> Matrix:
    return Matrix.Rotation(math.radians(degrees), 3, axis)


class _Builder:
    """Collects parts into one bmesh, each part tagged with its material slot."""

    def __init__(self) -> None:
        self.bm = bmesh.new()
        self.materials: list[bpy.types.Material] = []

    def _slot(self, mat: bpy.types.Material) -> int:
        if mat not in self.materials:
            self.materials.append(mat)
        return self.materials.index(mat)

    def _tag(self, verts: Sequence[bmesh.types.BMVert], mat: bpy.types.Material) -> None:
        index = self._slot(mat)
        for face in {f for v in verts for f in v.link_faces}:
            face.material_index = index
            face.smooth = True

    def box(
        self,
        size: Vec3,
        center: Vec3,
        mat: bpy.types.Material,
        rotation: Matrix | None = None,
    ) -> None:
        """An axis-aligned (then rotated) cuboid."""
        matrix = _placement(center, rotation) @ Matrix.Diagonal((*size, 1.0))
        self._tag(bmesh.ops.create_cube(self.bm, size=1.0, matrix=matrix)["verts"], mat)

    def cylinder(
        self,
        radius: float,
        depth: float,
        center: Vec3,
        mat: bpy.types.Material,
        rotation: Matrix | None = None,
        radius_top: float | None = None,
        segments: int = 20,
    ) -> None:
        """A capped cylinder (or frustum/cone via `radius_top`) along local Z, centred on `center`."""
        verts = bmesh.ops.create_cone(
            self.bm,
            cap_ends=True,
            cap_tris=False,
            segments=segments,
            radius1=radius,
            radius2=radius if radius_top is None else radius_top,
            depth=depth,
            matrix=_placement(center, rotation),
        )["verts"]
        self._tag(verts, mat)

    def rod(
        self,
        start: Vec3,
        end: Vec3,
        radius: float,
        mat: bpy.types.Material,
        radius_end: float | None = None,
        segments: int = 12,
    ) -> None:
        """A cylinder (or cone) from `start` to `end`."""
        p0, p1 = Vector(start), Vector(end)
        axis = p1 - p0
        rotation = Vector((0.0, 0.0, 1.0)).rotation_difference(axis.normalized()).to_matrix()
        self.cylinder(radius, axis.length, tuple((p0 + p1) / 2), mat, rotation, radius_end, segments=segments)

    def sphere(
        self,
        radius: float,
        center: Vec3,
        mat: bpy.types.Material,
        scale: Vec3 = (1.0, 1.0, 1.0),
        rotation: Matrix | None = None,
        segments: int = 16,
        rings: int = 8,
    ) -> None:
        """A UV sphere, optionally squashed by `scale` (applied before `rotation`).

        Built as a lathe rather than with bmesh.ops.create_uvsphere, whose cost grows with the size
        of the whole bmesh (it welds vertices over all of it).
        """
        matrix = _placement(center, rotation) @ Matrix.Diagonal((*scale, 1.0))
        profile = [
            (radius * math.sin(math.pi * i / rings), -radius * math.cos(math.pi * i / rings)) for i in range(rings + 1)
        ]
        self.lathe(profile, mat, segments=segments, matrix=matrix)

    def lathe(
        self,
        profile: Sequence[tuple[float, float]],
        mats: bpy.types.Material | Sequence[bpy.types.Material],
        segments: int = 24,
        matrix: Matrix | None = None,
        column_mats: Sequence[bpy.types.Material] | None = None,
    ) -> list[list[bmesh.types.BMVert]]:
        """A surface of revolution of (radius, z) points around local Z; returns its vertex rings.

        A point with radius 0 becomes a single pole vertex, closing the surface there. `mats` is one
        material or one per band between consecutive points; `column_mats` instead cycles
        materials around the axis (barrel staves). Normals face to the right of the walking
        direction in the (r, z) plane, so walking up the outside of a shape makes them face out.
        """
        matrix = matrix or Matrix()
        bands = [mats] * (len(profile) - 1) if isinstance(mats, bpy.types.Material) else list(mats)
        rings: list[list[bmesh.types.BMVert]] = []
        for r, z in profile:
            if r <= 1e-9:
                rings.append([self.bm.verts.new(matrix @ Vector((0.0, 0.0, z)))])
                continue
            ring = []
            for j in range(segments):
                a = 2 * math.pi * j / segments
                ring.append(self.bm.verts.new(matrix @ Vector((r * math.cos(a), r * math.sin(a), z))))
            rings.append(ring)
        for i in range(len(rings) - 1):
            lower, upper = rings[i], rings[i + 1]
            for j in range(segments):
                k = (j + 1) % segments
                if len(lower) == 1 and len(upper) == 1:
                    continue
                if len(lower) == 1:
                    corners = [lower[0], upper[k], upper[j]]
                elif len(upper) == 1:
                    corners = [lower[j], lower[k], upper[0]]
                else:
                    corners = [lower[j], lower[k], upper[k], upper[j]]
                face = self.bm.faces.new(corners)
                mat = column_mats[j % len(column_mats)] if column_mats else bands[i]
                face.material_index = self._slot(mat)
                face.smooth = True
        return rings

    def torus(
        self,
        major: float,
        minor: float,
        mat: bpy.types.Material,
        matrix: Matrix | None = None,
        arc: tuple[float, float] = (0.0, 360.0),
        minor_arc: tuple[float, float] = (0.0, 360.0),
        segments: int = 32,
        minor_segments: int = 12,
        wobble: float = 0.0,
    ) -> None:
        """A torus around local Z, optionally only part of it.

        `arc` limits the angle around the axis, `minor_arc` the angle around the tube (0 = outer
        equator, 90 = top); `wobble` (degrees) makes the ends of a partial tube wavy, like icing.
        """
        matrix = matrix or Matrix()
        full_major = arc[1] - arc[0] >= 360.0
        full_minor = minor_arc[1] - minor_arc[0] >= 360.0
        n_u = segments if full_major else segments + 1
        n_v = minor_segments if full_minor else minor_segments + 1
        grid: list[list[bmesh.types.BMVert]] = []
        for i in range(n_u):
            u = math.radians(arc[0] + (arc[1] - arc[0]) * i / segments)
            w = wobble * math.sin(7 * u)
            v0, v1 = minor_arc[0] + w, minor_arc[1] - w * 0.6
            radial = Vector((math.cos(u), math.sin(u), 0.0))
            row = []
            for j in range(n_v):
                v = math.radians(v0 + (v1 - v0) * j / minor_segments)
                p = radial * (major + minor * math.cos(v)) + Vector((0.0, 0.0, minor * math.sin(v)))
                row.append(self.bm.verts.new(matrix @ p))
            grid.append(row)
        index = self._slot(mat)
        for i in range(segments):
            i2 = (i + 1) % n_u
            for j in range(minor_segments):
                j2 = (j + 1) % n_v
                face = self.bm.faces.new([grid[i][j], grid[i2][j], grid[i2][j2], grid[i][j2]])
                face.material_index = index
                face.smooth = True

    def prism(
        self,
        outline: Sequence[tuple[float, float]],
        thickness: float,
        mat: bpy.types.Material,
        matrix: Matrix | None = None,
    ) -> None:
        """A convex (x, z) outline extruded along local Y by `thickness`, centred on y = 0."""
        matrix = matrix or Matrix()
        half = thickness / 2
        front = [self.bm.verts.new(matrix @ Vector((x, -half, z))) for x, z in outline]
        back = [self.bm.verts.new(matrix @ Vector((x, half, z))) for x, z in outline]
        faces = [self.bm.faces.new(front), self.bm.faces.new(back[::-1])]
        n = len(outline)
        for i in range(n):
            k = (i + 1) % n
            faces.append(self.bm.faces.new([front[i], front[k], back[k], back[i]]))
        bmesh.ops.recalc_face_normals(self.bm, faces=faces)
        index = self._slot(mat)
        for face in faces:
            face.material_index = index

    def finish(self, name: str) -> bpy.types.Object:
        """Mark sharp edges, put the origin at the bottom centre and link the object to the scene."""
        bm = self.bm
        for edge in bm.edges:
            if len(edge.link_faces) == 2 and edge.calc_face_angle(0.0) > _SHARP_ANGLE:
                edge.smooth = False
        xs = [v.co.x for v in bm.verts]
        ys = [v.co.y for v in bm.verts]
        zs = [v.co.z for v in bm.verts]
        offset = Vector((-(min(xs) + max(xs)) / 2, -(min(ys) + max(ys)) / 2, -min(zs)))
        bmesh.ops.translate(bm, vec=offset, verts=bm.verts)
        mesh = bpy.data.meshes.new(name)
        bm.to_mesh(mesh)
        bm.free()
        for mat in self.materials:
            mesh.materials.append(mat)
        obj = bpy.data.objects.new(name, mesh)
        bpy.context.scene.collection.objects.link(obj)
        return obj


# --------------------------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------------------------


def _chair(b: _Builder) -> None:
    seat_mat, frame = _wood(), _wood_dark()
    b.box((0.46, 0.44, 0.05), (0.0, 0.0, 0.455), seat_mat)
    for x in (-0.2, 0.2):
        b.box((0.04, 0.04, 0.43), (x, -0.19, 0.215), frame)  # front legs
        b.box((0.04, 0.04, 0.95), (x, 0.19, 0.475), frame)  # back legs run up into the back posts
        b.box((0.025, 0.34, 0.03), (x, 0.0, 0.15), frame)  # side stretchers
    b.box((0.36, 0.025, 0.03), (0.0, -0.19, 0.15), frame)
    b.box((0.36, 0.035, 0.08), (0.0, 0.19, 0.9), frame)  # top rail, between the posts
    for x in (-0.12, -0.04, 0.04, 0.12):
        b.box((0.045, 0.02, 0.38), (x, 0.19, 0.67), seat_mat)  # slats


def _table(b: _Builder) -> None:
    top, frame = _wood(), _wood_dark()
    b.cylinder(0.6, 0.04, (0.0, 0.0, 0.74), top, segments=40)
    b.cylinder(0.44, 0.08, (0.0, 0.0, 0.68), frame, segments=32)  # apron under the top
    for k in range(4):
        a = math.radians(45 + 90 * k)
        x, y = 0.38 * math.cos(a), 0.38 * math.sin(a)
        b.rod((x * 1.08, y * 1.08, 0.0), (x, y, 0.66), 0.022, frame, radius_end=0.034, segments=12)


def _mug(b: _Builder) -> None:
    red = _material("ceramic_red", (0.5, 0.02, 0.02), roughness=0.2, coat=1.0)
    coffee = _material("coffee", (0.05, 0.02, 0.008), roughness=0.05)
    # Outside up, over the rim, inside down: a hollow cup in one surface.
    profile = [
        (0.0, 0.0),
        (0.37, 0.0),
        (0.4, 0.03),
        (0.4, 0.95),
        (0.385, 0.975),
        (0.36, 0.95),
        (0.36, 0.1),
        (0.0, 0.1),
    ]
    b.lathe(profile, red, segments=32)
    b.cylinder(0.362, 0.01, (0.0, 0.0, 0.8), coffee, segments=32)
    handle = Matrix.Translation((0.39, 0.0, 0.5)) @ _rot("X", 90).to_4x4() @ Matrix.Diagonal((1.0, 1.0, 1.3, 1.0))
    b.torus(0.25, 0.05, red, handle, arc=(-80.0, 80.0), segments=16, minor_segments=10)


def _lamp(b: _Builder) -> None:
    brass = _brass()
    shade = _material("lamp_shade", (0.88, 0.87, 0.82), roughness=0.6)
    bulb = _material("bulb", (1.0, 0.85, 0.6), roughness=0.3, emission=8.0)
    b.cylinder(0.11, 0.025, (0.0, 0.04, 0.0125), brass, segments=32)
    b.cylinder(0.045, 0.03, (0.0, 0.06, 0.04), brass, segments=16)
    b.rod((0.0, 0.06, 0.04), (0.0, 0.02, 0.32), 0.011, brass)
    b.sphere(0.02, (0.0, 0.02, 0.32), brass, segments=12, rings=6)
    b.rod((0.0, 0.02, 0.32), (0.0, -0.16, 0.4), 0.01, brass)
    b.sphere(0.018, (0.0, -0.16, 0.4), brass, segments=12, rings=6)
    # Shade hangs from the arm's end, tilted so its opening points down and forward (-Y).
    frame = Matrix.Translation((0.0, -0.17, 0.39)) @ _rot("X", -35).to_4x4()
    profile = [(0.1, -0.15), (0.075, -0.09), (0.045, -0.025), (0.035, 0.0), (0.0, 0.0)]  # rim to top
    b.lathe(profile, [shade, shade, shade, brass], segments=28, matrix=frame)
    b.sphere(0.03, tuple(frame @ Vector((0.0, 0.0, -0.07))), bulb, segments=12, rings=6)


def _snowman(b: _Builder) -> None:
    snow = _material("snow", (0.9, 0.92, 0.96), roughness=0.75)
    coal, hat = _black("coal"), _material("hat_black", (0.01, 0.01, 0.012), roughness=0.55)
    carrot = _material("carrot", (0.9, 0.28, 0.02), roughness=0.6)
    twig = _material("twig", (0.22, 0.11, 0.04), roughness=0.8)
    for radius, z in ((0.5, 0.45), (0.36, 1.12), (0.25, 1.6)):
        b.sphere(radius, (0.0, 0.0, z), snow, segments=20, rings=10)
    head = Vector((0.0, 0.0, 1.6))
    b.rod((0.0, -0.22, 1.6), (0.0, -0.48, 1.57), 0.045, carrot, radius_end=0.0, segments=10)
    for x in (-0.09, 0.09):
        b.sphere(0.032, (x, -0.215, 1.69), coal, segments=10, rings=5)
    for k in range(5):  # coal smile
        a = math.radians(-40 + 20 * k)
        d = Vector((math.sin(a) * 0.55, -0.8, -0.45 + 0.12 * math.cos(a) - 0.12)).normalized()
        b.sphere(0.018, tuple(head + d * 0.245), coal, segments=8, rings=4)
    for z in (1.0, 1.14, 1.28):  # buttons on the middle ball
        d = Vector((0.0, -1.0, (z - 1.12) / 0.36)).normalized()
        b.sphere(0.035, tuple(Vector((0.0, 0.0, 1.12)) + d * 0.355), coal, segments=10, rings=5)
    b.cylinder(0.3, 0.03, (0.0, 0.0, 1.81), hat, segments=24)
    b.cylinder(0.19, 0.32, (0.0, 0.0, 1.97), hat, segments=24)
    for s in (-1, 1):
        b.rod((s * 0.3, 0.0, 1.2), (s * 0.85, 0.0, 1.5), 0.02, twig, radius_end=0.012, segments=8)
        b.rod((s * 0.7, 0.0, 1.42), (s * 0.8, 0.0, 1.62), 0.012, twig, radius_end=0.008, segments=8)


def _traffic_cone(b: _Builder) -> None:
    orange = _material("cone_orange", (1.0, 0.22, 0.0), roughness=0.5)
    white = _material("reflective_white", (0.9, 0.9, 0.9), roughness=0.25)
    b.box((0.42, 0.42, 0.03), (0.0, 0.0, 0.015), orange)
    zs = [0.03, 0.25, 0.36, 0.46, 0.55, 0.72]
    profile = [(0.16 - 0.13 * (z - 0.03) / 0.69, z) for z in zs] + [(0.0, 0.72)]
    b.lathe(profile, [orange, white, orange, white, orange, orange], segments=28)


def _rocket(b: _Builder) -> None:
    white = _material("rocket_white", (0.85, 0.85, 0.85), roughness=0.3)
    red = _material("rocket_red", (0.7, 0.02, 0.02), roughness=0.35)
    grey = _material("metal_grey", (0.45, 0.45, 0.47), roughness=0.35, metallic=1.0)
    glass = _material("porthole_glass", (0.2, 0.5, 0.85), roughness=0.05)
    profile = [
        (0.0, 0.15),
        (0.17, 0.15),
        (0.2, 0.25),
        (0.2, 1.0),
        (0.19, 1.1),
        (0.16, 1.25),
        (0.1, 1.42),
        (0.04, 1.55),
        (0.0, 1.6),
    ]
    b.lathe(profile, [white] * 5 + [red] * 3, segments=24)
    b.cylinder(0.14, 0.14, (0.0, 0.0, 0.08), grey, radius_top=0.09, segments=20)
    fin = [(0.18, 0.6), (0.42, 0.18), (0.42, 0.0), (0.18, 0.2)]
    for k in range(4):
        b.prism(fin, 0.03, red, _rot("Z", 45 + 90 * k).to_4x4())
    b.rod((0.0, -0.17, 0.85), (0.0, -0.21, 0.85), 0.085, grey, segments=20)
    b.rod((0.0, -0.2, 0.85), (0.0, -0.215, 0.85), 0.065, glass, segments=20)


def _mushroom(b: _Builder) -> None:
    red = _material("mushroom_red", (0.75, 0.03, 0.02), roughness=0.4)
    stem = _material("mushroom_stem", (0.85, 0.8, 0.66), roughness=0.7)
    gills = _material("mushroom_gills", (0.65, 0.55, 0.4), roughness=0.8)
    spot = _material("mushroom_spot", (0.93, 0.93, 0.9), roughness=0.6)
    b.lathe(
        [(0.0, 0.0), (0.14, 0.0), (0.15, 0.04), (0.12, 0.2), (0.1, 0.38), (0.1, 0.45), (0.0, 0.45)],
        stem,
        segments=20,
    )
    rx, rz, z0 = 0.46, 0.32, 0.4
    cap = [(0.0, z0 + 0.02), (rx * 0.96, z0)]
    cap += [(rx * math.sin(math.radians(t)), z0 + rz * math.cos(math.radians(t))) for t in range(90, -1, -10)]
    b.lathe(cap, [gills] + [red] * (len(cap) - 2), segments=28)
    spots = [
        (0, 0),
        (32, 270),
        (35, 30),
        (35, 150),
        (60, 220),
        (62, 320),
        (58, 90),
        (65, 0),
        (64, 140),
        (75, 260),
        (78, 290),
        (40, 200),
    ]
    for theta, phi in spots:
        t, p = math.radians(theta), math.radians(phi)
        pos = Vector((rx * math.sin(t) * math.cos(p), rx * math.sin(t) * math.sin(p), z0 + rz * math.cos(t)))
        normal = Vector((pos.x / rx**2, pos.y / rx**2, (pos.z - z0) / rz**2)).normalized()
        size = 0.055 if theta % 2 == 0 else 0.042
        rotation = normal.to_track_quat("Z", "Y").to_matrix()
        b.sphere(size, tuple(pos), spot, scale=(1.0, 1.0, 0.35), rotation=rotation, segments=12, rings=6)


def _tree(b: _Builder) -> None:
    bark = _material("bark", (0.22, 0.1, 0.04), roughness=0.9)
    dark = _material("pine_needles", (0.03, 0.18, 0.05), roughness=0.8)
    light = _material("pine_needles_light", (0.05, 0.26, 0.07), roughness=0.8)
    b.cylinder(0.09, 0.5, (0.0, 0.0, 0.25), bark, segments=12)
    for (radius, z, height), mat in zip(
        ((0.58, 0.3, 0.75), (0.46, 0.68, 0.62), (0.33, 1.02, 0.58)), (dark, light, dark), strict=True
    ):
        b.lathe([(0.0, z), (radius, z), (0.0, z + height)], mat, segments=18)


def _house(b: _Builder) -> None:
    wall = _material("house_wall", (0.85, 0.76, 0.55), roughness=0.8)
    roof = _material("roof_red", (0.6, 0.05, 0.03), roughness=0.6)
    door = _material("door_brown", (0.28, 0.13, 0.05), roughness=0.6)
    glass = _material("window_glass", (0.35, 0.6, 0.85), roughness=0.05)
    frame = _material("window_frame", (0.9, 0.9, 0.88), roughness=0.5)
    brick = _material("chimney_brick", (0.4, 0.12, 0.07), roughness=0.85)
    width, depth, height, ridge = 1.6, 1.2, 1.0, 1.5
    b.box((width, depth, height), (0.0, 0.0, height / 2), wall)
    gable = [(-depth / 2, height), (depth / 2, height), (0.0, ridge)]
    b.prism(gable, width, wall, _rot("Z", 90).to_4x4())  # outline's x runs along world Y
    b.box((0.16, 0.16, 0.5), (0.45, 0.25, 1.45), brick)
    thickness, overhang = 0.06, 0.15
    for s in (-1, 1):
        eave, top = Vector((0.0, s * depth / 2, height)), Vector((0.0, 0.0, ridge))
        slope = (top - eave).normalized()
        normal = Vector((0.0, -slope.z, slope.y))
        if normal.z < 0:
            normal = -normal
        start = eave - slope * overhang
        center = (start + top) / 2 + normal * thickness / 2
        rotation = Vector((0.0, 1.0, 0.0)).rotation_difference(slope).to_matrix()
        b.box((width + 0.2, (top - start).length, thickness), tuple(center), roof, rotation)
    b.box((width + 0.2, 0.09, 0.06), (0.0, 0.0, ridge + 0.045), roof)
    front = -depth / 2
    b.box((0.32, 0.04, 0.6), (-0.35, front - 0.01, 0.3), door)
    b.sphere(0.025, (-0.25, front - 0.04, 0.3), _brass(), segments=10, rings=5)
    b.box((0.36, 0.03, 0.36), (0.35, front - 0.005, 0.58), frame)
    b.box((0.28, 0.04, 0.28), (0.35, front - 0.01, 0.58), glass)
    for s in (-1, 1):
        b.box((0.03, 0.36, 0.36), (s * (width / 2 + 0.005), 0.0, 0.58), frame)
        b.box((0.04, 0.28, 0.28), (s * (width / 2 + 0.01), 0.0, 0.58), glass)


def _barrel(b: _Builder) -> None:
    stave_a = _material("barrel_wood", (0.4, 0.2, 0.08), roughness=0.65, grain=True)
    stave_b = _material("barrel_wood_dark", (0.3, 0.15, 0.06), roughness=0.7, grain=True)
    lid = _wood_dark()
    iron = _material("iron", (0.1, 0.1, 0.11), roughness=0.45, metallic=1.0)

    def radius(z: float) -> float:
        return 0.34 + 0.06 * math.sin(math.pi * z)

    side = [(radius(i / 10), i / 10) for i in range(11)]
    b.lathe([(0.0, 0.0), *side, (0.32, 1.0), (0.32, 0.96)], stave_a, segments=24, column_mats=[stave_a, stave_b])
    b.cylinder(0.321, 0.01, (0.0, 0.0, 0.965), lid, segments=24)
    for z in (0.08, 0.3, 0.7, 0.92):
        r = max(radius(z - 0.025), radius(z + 0.025)) + 0.008
        hoop = [(r - 0.02, z - 0.025), (r, z - 0.025), (r, z + 0.025), (r - 0.02, z + 0.025)]
        b.lathe(hoop, iron, segments=24)


def _car(b: _Builder) -> None:
    blue = _material("car_blue", (0.02, 0.12, 0.65), roughness=0.25, coat=1.0)
    glass = _material("car_glass", (0.04, 0.06, 0.08), roughness=0.05)
    tire, chrome = _black("tire_rubber"), _steel()
    head = _material("headlight", (1.0, 0.95, 0.8), roughness=0.2, emission=2.0)
    tail = _material("taillight", (0.8, 0.02, 0.02), roughness=0.2, emission=1.0)
    b.box((0.9, 2.0, 0.42), (0.0, 0.0, 0.39), blue)
    side = [(-0.45, 0.6), (0.7, 0.6), (0.55, 0.96), (-0.2, 0.96)]  # cabin profile (y, z)
    b.prism(side, 0.8, glass, _rot("Z", 90).to_4x4())
    b.box((0.84, 0.8, 0.05), (0.0, 0.175, 0.98), blue)  # roof
    for x in (-0.4, 0.4):
        for (y0, z0), (y1, z1) in (
            ((-0.45, 0.6), (-0.2, 0.97)),
            ((0.7, 0.6), (0.55, 0.97)),
            ((0.15, 0.6), (0.15, 0.97)),
        ):
            b.rod((x, y0, z0), (x, y1, z1), 0.03, blue, segments=8)
    for x in (-0.45, 0.45):
        for y in (-0.62, 0.62):
            b.cylinder(0.2, 0.14, (x * 1.05, y, 0.2), tire, _rot("Y", 90), segments=20)
            b.cylinder(0.1, 0.02, (x * 1.05 + math.copysign(0.075, x), y, 0.2), chrome, _rot("Y", 90), segments=16)
    for y in (-1.0, 1.0):
        b.box((0.94, 0.08, 0.09), (0.0, y * 1.02, 0.25), chrome)  # bumpers
    for x in (-0.3, 0.3):
        b.cylinder(0.07, 0.02, (x, -1.005, 0.48), head, _rot("X", 90), segments=16)
        b.box((0.16, 0.02, 0.07), (x, 1.005, 0.48), tail)


def _dumbbell(b: _Builder) -> None:
    steel, rubber = _steel(), _black("weight_rubber")
    grip = _material("steel_grip", (0.45, 0.45, 0.47), roughness=0.55, metallic=1.0)
    along_x = _rot("Y", 90)
    z = 0.2
    b.cylinder(0.025, 0.92, (0.0, 0.0, z), steel, along_x, segments=16)
    b.cylinder(0.03, 0.3, (0.0, 0.0, z), grip, along_x, segments=16)
    for s in (-1, 1):
        b.cylinder(0.045, 0.03, (s * 0.19, 0.0, z), steel, along_x, segments=16)
        for x, r in ((0.23, 0.2), (0.285, 0.17), (0.335, 0.14)):
            b.cylinder(r, 0.05, (s * x, 0.0, z), rubber, along_x, segments=28)
            b.cylinder(r * 0.4, 0.052, (s * x, 0.0, z), steel, along_x, segments=16)  # chrome hub ring
        b.cylinder(0.045, 0.03, (s * 0.375, 0.0, z), steel, along_x, segments=16)


def _donut(b: _Builder) -> None:
    dough = _material("dough", (0.7, 0.38, 0.13), roughness=0.7)
    icing = _material("icing_pink", (0.95, 0.3, 0.5), roughness=0.25)
    sprinkles = [
        _material("sprinkle_white", (0.9, 0.9, 0.9), roughness=0.3),
        _material("sprinkle_yellow", (0.95, 0.75, 0.05), roughness=0.3),
        _material("sprinkle_blue", (0.05, 0.25, 0.9), roughness=0.3),
        _material("sprinkle_green", (0.1, 0.65, 0.15), roughness=0.3),
    ]
    major, minor = 0.5, 0.23
    base = Matrix.Translation((0.0, 0.0, minor))
    b.torus(major, minor, dough, base, segments=32, minor_segments=14)
    b.torus(
        major,
        minor * 1.07,
        icing,
        base,
        minor_arc=(-20.0, 200.0),
        segments=32,
        minor_segments=14,
        wobble=12.0,
    )
    rng = random.Random(7)  # fixed seed: the same donut every time
    for _ in range(40):
        u, v = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(25, 150))
        radial = Vector((math.cos(u), math.sin(u), 0.0))
        normal = (radial * math.cos(v) + Vector((0, 0, math.sin(v)))).normalized()
        pos = radial * major + normal * minor * 1.08 + Vector((0.0, 0.0, minor))
        tangent = normal.cross(Vector((rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1))))
        if tangent.length < 1e-3:
            continue
        tangent = tangent.normalized() * 0.03
        b.rod(tuple(pos - tangent), tuple(pos + tangent), 0.011, rng.choice(sprinkles), segments=6)


def _umbrella(b: _Builder) -> None:
    yellow = _material("umbrella_yellow", (0.95, 0.72, 0.02), roughness=0.55)
    pole = _material("umbrella_pole", (0.08, 0.08, 0.09), roughness=0.35, metallic=1.0)
    handle = _material("umbrella_handle", (0.2, 0.09, 0.03), roughness=0.5)
    ribs = 8
    profile = [(1.0, 1.47), (0.88, 1.6), (0.65, 1.77), (0.35, 1.9), (0.0, 1.95)]  # rim up to the top
    rings = b.lathe(profile, yellow, segments=ribs * 2)
    for t, ring in enumerate(rings[:-1]):  # sag the cloth between ribs: a scalloped rim
        sag = 1 - t / (len(rings) - 1)
        for j, vert in enumerate(ring):
            if j % 2:
                vert.co.x *= 1 - 0.05 * sag
                vert.co.y *= 1 - 0.05 * sag
                vert.co.z += 0.05 * sag
    b.rod((0.0, 0.0, 0.0), (0.0, 0.0, 1.95), 0.016, pole, segments=10)
    b.rod((0.0, 0.0, 1.94), (0.0, 0.0, 2.08), 0.02, pole, radius_end=0.004, segments=10)
    b.rod((0.0, 0.0, 0.0), (0.0, 0.0, 0.26), 0.035, handle, segments=14)
    b.cylinder(0.035, 0.08, (0.0, 0.0, 1.3), pole, segments=12)  # runner
    for k in range(ribs):
        a = 2 * math.pi * k / ribs
        c, s = math.cos(a), math.sin(a)
        b.rod((0.03 * c, 0.03 * s, 1.3), (0.6 * c, 0.6 * s, 1.75), 0.007, pole, segments=6)  # stretchers
        b.sphere(0.018, (1.0 * c, 1.0 * s, 1.46), pole, segments=8, rings=4)  # rib tips


def _robot(b: _Builder) -> None:
    grey = _material("robot_grey", (0.45, 0.47, 0.5), roughness=0.4, metallic=0.6)
    dark = _material("robot_dark", (0.1, 0.1, 0.12), roughness=0.5, metallic=0.5)
    glow = _material("robot_eye_glow", (0.1, 0.8, 1.0), roughness=0.3, emission=12.0)
    red = _material("robot_red", (0.8, 0.04, 0.03), roughness=0.4, emission=0.5)
    for s in (-1, 1):
        b.box((0.2, 0.3, 0.08), (s * 0.14, -0.04, 0.04), grey)  # feet
        b.box((0.15, 0.17, 0.45), (s * 0.14, 0.0, 0.3), dark)  # legs
        b.sphere(0.08, (s * 0.36, 0.0, 1.02), dark, segments=12, rings=6)  # shoulders
        b.box((0.12, 0.12, 0.42), (s * 0.38, 0.0, 0.78), grey)  # arms
        b.sphere(0.07, (s * 0.38, 0.0, 0.52), dark, segments=12, rings=6)  # hands
        b.cylinder(0.06, 0.04, (s * 0.23, 0.0, 1.33), dark, _rot("Y", 90), segments=16)  # ears
        b.cylinder(0.07, 0.01, (s * 0.1, -0.172, 1.37), dark, _rot("X", 90), segments=16)  # eye sockets
        b.cylinder(0.05, 0.02, (s * 0.1, -0.175, 1.37), glow, _rot("X", 90), segments=16)  # eyes
    b.box((0.6, 0.4, 0.6), (0.0, 0.0, 0.8), grey)  # torso
    b.box((0.3, 0.02, 0.18), (0.0, -0.205, 0.88), dark)  # chest panel
    for x in (-0.08, 0.0, 0.08):
        b.cylinder(0.025, 0.02, (x, -0.215, 0.88), red if x else glow, _rot("X", 90), segments=12)
    b.cylinder(0.07, 0.1, (0.0, 0.0, 1.14), dark, segments=16)  # neck
    b.box((0.42, 0.34, 0.32), (0.0, 0.0, 1.33), grey)  # head
    b.box((0.2, 0.02, 0.04), (0.0, -0.172, 1.25), dark)  # mouth grille
    b.rod((0.0, 0.0, 1.49), (0.0, 0.0, 1.66), 0.012, dark, segments=8)
    b.sphere(0.035, (0.0, 0.0, 1.68), red, segments=12, rings=6)


OBJECT_BUILDERS: dict[str, Callable[[_Builder], None]] = {
    "chair": _chair,
    "table": _table,
    "mug": _mug,
    "lamp": _lamp,
    "snowman": _snowman,
    "traffic_cone": _traffic_cone,
    "rocket": _rocket,
    "mushroom": _mushroom,
    "tree": _tree,
    "house": _house,
    "barrel": _barrel,
    "car": _car,
    "dumbbell": _dumbbell,
    "donut": _donut,
    "umbrella": _umbrella,
    "robot": _robot,
}


def build_object(asset_id: str) -> bpy.types.Object:
    """Build the built-in object `asset_id` (e.g. "chair") and link it to the current scene.

    Raises KeyError naming the id and the valid ones when it is not a built-in object.
    """
    builder = OBJECT_BUILDERS.get(asset_id)
    if builder is None:
        raise KeyError(f"unknown built-in object {asset_id!r}; choose one of: {', '.join(sorted(OBJECT_BUILDERS))}")
    b = _Builder()
    try:
        builder(b)
    except BaseException:
        b.bm.free()
        raise
    return b.finish(f"builtin_{asset_id}")
