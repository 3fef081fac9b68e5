"""The README's code map is the tree: every package it names exists, every package and top-level module is in it,
and only `simian/render/blender/` imports Blender's modules."""

from __future__ import annotations

import ast
import re

from .conftest import REPO

SIMIAN = REPO / "simian"
BLENDER_MODULES = {"bpy", "bpy_extras", "bmesh", "mathutils"}


def code_map_paths() -> set[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("Layout of the code") :]
    table = next(block for block in section.split("\n\n") if block.startswith("| where"))
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    paths: set[str] = set()
    for cell in first_cells:
        names = re.findall(r"`([^`]+)`", cell)
        folder = names[0].rsplit("/", 1)[0] if "/" in names[0] and not names[0].endswith("/") else ""
        for name in names:
            paths.add(name if "/" in name or not folder else f"{folder}/{name}")
    return paths


def test_every_path_of_the_code_map_exists():
    missing = sorted(p for p in code_map_paths() if not (REPO / p).exists())
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_package_and_top_level_module_is_in_the_code_map():
    paths = {p.rstrip("/") for p in code_map_paths()}
    tree = {f"simian/{p.name}" for p in SIMIAN.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    tree |= {f"simian/{p.name}" for p in SIMIAN.glob("*.py") if p.name != "__init__.py"}
    tree.add("simian/render/blender")
    assert tree <= paths, f"not in the README's code map: {sorted(tree - paths)}"


def test_only_the_blender_package_imports_blender():
    offenders = []
    for path in SIMIAN.rglob("*.py"):
        if (SIMIAN / "render" / "blender") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            if any(n.split(".")[0] in BLENDER_MODULES for n in names):
                offenders.append(str(path.relative_to(REPO)))
    assert not offenders, f"only simian/render/blender/ may import bpy: {sorted(set(offenders))}"
