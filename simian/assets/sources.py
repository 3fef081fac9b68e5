"""The asset sources, registered in one place: what each provides, how its ids look, how it is checked
offline, how it is fetched, and how Blender loads it (built procedurally from the id, or from a file).

Adding a source is one `register(AssetSource(...))`; nothing else dispatches on source names.
"""

from __future__ import annotations

import contextlib
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simian.assets.catalog import AssetKind, builtin_entry
from simian.assets.licenses import PROJECT_LICENSE, AssetLicense, licensed
from simian.errors import AssetNotFoundError, InvalidInputError, shorten

if TYPE_CHECKING:
    from simian.settings import Settings

KINDS: tuple[AssetKind, ...] = ("object", "background", "floor")

MODEL_SUFFIXES = frozenset({".glb", ".gltf", ".obj", ".fbx", ".stl", ".ply"})
IMAGE_SUFFIXES = frozenset({".hdr", ".exr", ".png", ".jpg", ".jpeg"})


class Fetchers:
    """The per-process clients of the remote sources, created on first use (they hold caches and sessions)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[str, object] = {}

    def client(self, name: str, make: Callable[[Settings], object]) -> object:
        if name not in self._clients:
            self._clients[name] = make(self.settings)
        return self._clients[name]


@dataclass(frozen=True)
class AssetSource:
    name: str
    kinds: frozenset[AssetKind]
    #: True: Blender builds the asset from its id; False: Blender loads the local file `fetch` returns.
    procedural: bool
    #: Raises InvalidInputError when `ident` cannot be an id of this source (checked when a recipe loads).
    check_id: Callable[[str], None]
    #: Offline checks for one use of the asset (it exists, the file type fits the kind); `label` names the field.
    check_offline: Callable[[str, AssetKind, str], None]
    #: The local file (or folder) Blender loads; None for procedural sources.
    fetch: Callable[[Fetchers, str, AssetKind], Path | None]
    example: str
    #: The asset's licence and the credit it asks for (may ask the source, e.g. Objaverse's annotations).
    license: Callable[[Fetchers, str, AssetKind], AssetLicense]


SOURCES: dict[str, AssetSource] = {}


def register(source: AssetSource) -> AssetSource:
    SOURCES[source.name] = source
    return source


def source_of(name: str) -> AssetSource:
    return SOURCES[name]


# -- built-in: the offline catalogue ------------------------------------------------------------


def _builtin_id(ident: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", ident):
        raise InvalidInputError(f"'builtin:{ident[:80]}' is not a built-in id; ids look like 'builtin:chair'")


def _builtin_check(ident: str, kind: AssetKind, label: str) -> None:
    builtin_entry(kind, f"builtin:{ident}", label)


register(
    AssetSource(
        name="builtin",
        kinds=frozenset(KINDS),
        procedural=True,
        check_id=_builtin_id,
        check_offline=_builtin_check,
        fetch=lambda fetchers, ident, kind: None,
        example="builtin:chair",
        license=lambda fetchers, ident, kind: licensed(
            f"builtin:{ident}",
            kind,
            PROJECT_LICENSE,
            f"Simian built-in {kind} '{ident}': procedural, made by the Simian project (MIT License)",
        ),
    )
)


# -- local files ---------------------------------------------------------------------------------


#: Longest path the kernel takes (PATH_MAX on Linux).
MAX_PATH_BYTES = 4096


def _file_id(ident: str) -> None:
    if "\x00" in ident:
        raise InvalidInputError("a file: path cannot contain NUL characters")
    if len(ident.encode("utf-8", "surrogatepass")) >= MAX_PATH_BYTES:
        raise InvalidInputError(f"'file:{shorten(ident, 80)}' is longer than a path can be ({MAX_PATH_BYTES} bytes)")


def _size_check(path: Path, label: str) -> None:
    """A local file Blender opens is a regular file under SIMIAN_FILE_ASSET_MAX_BYTES: its importers hold several
    times a file's size in memory (a 2 GiB sparse .glb reached 4.4 GB), and a FIFO or device never ends."""
    from simian.settings import load_settings

    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInputError(f"{label}: {shorten(str(path))} is not a regular file (a pipe, device or socket)")
    cap = load_settings().simian_file_asset_max_bytes
    if info.st_size > cap:
        raise InvalidInputError(
            f"{label}: {shorten(str(path))} is {info.st_size} bytes, over SIMIAN_FILE_ASSET_MAX_BYTES ({cap}); use a "
            "smaller file or raise the setting"
        )


def _texture_set_check(folder: Path, label: str) -> None:
    """A floor folder is a texture set: Blender needs at least its Diffuse map."""
    maps = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir()]
    if not any(p.stem == "Diffuse" and p.is_file() for p in maps):
        raise InvalidInputError(
            f"{label}: folder {shorten(str(folder))} holds no Diffuse map (Diffuse.png, Diffuse.jpg, ...); "
            "a floor folder is a texture set ({Diffuse,Rough,nor_gl,AO,arm}.<image type>)"
        )
    for image in maps:
        _size_check(image, label)


def _file_check(ident: str, kind: AssetKind, label: str) -> None:
    path = Path(ident)
    try:
        if kind == "floor" and path.is_dir():
            _texture_set_check(path, label)
            return
        allowed = MODEL_SUFFIXES if kind == "object" else IMAGE_SUFFIXES
        if path.suffix.lower() not in allowed:
            raise InvalidInputError(
                f"{label}: {shorten(path.name, 80)} has an unsupported type; use one of {', '.join(sorted(allowed))}"
            )
        if not path.exists():
            raise AssetNotFoundError(f"{label}: file {shorten(str(path))} does not exist")
        if path.is_dir():
            raise InvalidInputError(f"{label}: {shorten(str(path))} is a folder, not a file")
        _size_check(path, label)
    except OSError as exc:  # a name too long, a folder we may not read
        raise InvalidInputError(f"{label}: cannot read {shorten(str(path))} ({exc.strerror or exc})") from None


register(
    AssetSource(
        name="file",
        kinds=frozenset(KINDS),
        procedural=False,
        check_id=_file_id,
        check_offline=_file_check,
        fetch=lambda fetchers, ident, kind: Path(ident),
        example="file:/path/to/model.glb",
        license=lambda fetchers, ident, kind: licensed(
            f"file:{ident}",
            kind,
            "unknown",
            f"local file {shorten(Path(ident).name, 80)} supplied by the user; its licence is not recorded",
        ),
    )
)


# -- Objaverse (objects, through huggingface_hub) -------------------------------------------------

OBJAVERSE_UID = re.compile(r"[0-9a-f]{32}")


def _objaverse_id(ident: str) -> None:
    if not OBJAVERSE_UID.fullmatch(ident):
        raise InvalidInputError(
            f"'objaverse:{ident[:80]}' is not an Objaverse uid; expected 32 lowercase hex characters"
        )


def _objaverse_fetch(fetchers: Fetchers, ident: str, kind: AssetKind) -> Path:
    from simian.assets.objaverse import ObjaverseSource

    client = fetchers.client("objaverse", ObjaverseSource)
    assert isinstance(client, ObjaverseSource)
    return client.fetch(ident)


def _objaverse_license(fetchers: Fetchers, ident: str, kind: AssetKind) -> AssetLicense:
    from simian.assets.objaverse import ObjaverseSource

    client = fetchers.client("objaverse", ObjaverseSource)
    assert isinstance(client, ObjaverseSource)
    return client.license(ident)


register(
    AssetSource(
        name="objaverse",
        kinds=frozenset({"object"}),
        procedural=False,
        check_id=_objaverse_id,
        check_offline=lambda ident, kind, label: None,
        fetch=_objaverse_fetch,
        example="objaverse:<32 hex uid>",
        license=_objaverse_license,
    )
)


# -- Poly Haven (HDRIs as backgrounds, textures as floors) ----------------------------------------

POLYHAVEN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,127}")


def _polyhaven_id(ident: str) -> None:
    if not POLYHAVEN_ID.fullmatch(ident):
        raise InvalidInputError(
            f"'polyhaven:{ident[:80]}' is not a Poly Haven id; ids look like 'studio_small_09' "
            "(letters, digits, '_' and '-')"
        )


def _polyhaven_fetch(fetchers: Fetchers, ident: str, kind: AssetKind) -> Path:
    from simian.assets.polyhaven import PolyHavenSource

    client = fetchers.client("polyhaven", PolyHavenSource)
    assert isinstance(client, PolyHavenSource)
    if kind == "background":
        return client.fetch_hdri(ident)
    return texture_folder(client.fetch_texture(ident))


def texture_folder(maps: dict[str, Path]) -> Path:
    """A folder of links named after the map ({Diffuse,Rough,...}.ext), as the renderer expects."""
    first = next(iter(maps.values()))
    folder = first.parent / "_set"
    folder.mkdir(exist_ok=True)
    for name, path in maps.items():
        link = folder / f"{name}{path.suffix}"
        if not link.exists():
            with contextlib.suppress(FileExistsError):
                link.symlink_to(path)
    return folder


register(
    AssetSource(
        name="polyhaven",
        kinds=frozenset({"background", "floor"}),
        procedural=False,
        check_id=_polyhaven_id,
        check_offline=lambda ident, kind, label: None,
        fetch=_polyhaven_fetch,
        example="polyhaven:studio_small_09",
        # Every Poly Haven asset is CC0 (polyhaven.com/license); no request is needed to know it.
        license=lambda fetchers, ident, kind: licensed(
            f"polyhaven:{ident}",
            kind,
            "cc0",
            f"Poly Haven asset '{ident}' (https://polyhaven.com/a/{ident}), CC0",
        ),
    )
)
