"""What a dataset is, recorded in it: the recipe source and the render settings of each named config.

A range whose identity differs from the one its config records is refused before anything renders,
naming the differing fields, so no video of one identity ever replaces a video of another. Other
identities go to their own named config (a subfolder, and a `configs` entry of the card).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import BaseModel, ConfigDict

from simian import atomic
from simian.errors import InvalidInputError

IDENTITY_FILE = "simian-dataset.json"
DEFAULT_CONFIG = "default"
CONFIG_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: Names a config cannot take: they are the dataset's own files and folders.
RESERVED = frozenset({"data", "metadata", "readme", "truth", "stats", "charts"})


class DatasetIdentity(BaseModel):
    """The recipe source (a seed with the combiner options, or a combinations file's sha256) and the
    render settings that decide pixels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipes: dict[str, Any]
    render: dict[str, Any]

    def differences(self, other: DatasetIdentity) -> list[str]:
        """'render.width: the dataset has 320, this run 64', one per differing field."""
        mine, theirs = _flatten(self.model_dump(mode="json")), _flatten(other.model_dump(mode="json"))
        return [
            f"{key}: the dataset has {json.dumps(mine.get(key))}, this run {json.dumps(theirs.get(key))}"
            for key in sorted(set(mine) | set(theirs))
            if mine.get(key) != theirs.get(key)
        ]


class IdentityMismatchError(InvalidInputError):
    """The run's recipe source or render settings differ from what the dataset config holds."""


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def check_config_name(name: str) -> str:
    if not CONFIG_NAME.fullmatch(name) or name in RESERVED:
        raise InvalidInputError(
            f"parameter 'config': {name[:80]!r} is not a config name; use lowercase letters, digits, '-' and '_' "
            f"(at most 64, not {', '.join(sorted(RESERVED))}), e.g. 'wide-320'"
        )
    return name


def config_folder(config: str) -> str:
    """Where a config's videos and metadata live, relative to the dataset root ('' for the default)."""
    return "" if config == DEFAULT_CONFIG else config


def read_identities(text: str | None) -> dict[str, DatasetIdentity]:
    if not text:
        return {}
    data = json.loads(text)
    return {name: DatasetIdentity.model_validate(value) for name, value in (data.get("configs") or {}).items()}


def dump_identities(identities: dict[str, DatasetIdentity]) -> str:
    configs = {name: identities[name].model_dump(mode="json") for name in sorted(identities)}
    return json.dumps({"format": 1, "configs": configs}, indent=2, sort_keys=True) + "\n"


def refusal(where: str, config: str, recorded: DatasetIdentity, wanted: DatasetIdentity) -> IdentityMismatchError:
    differences = "; ".join(recorded.differences(wanted))
    return IdentityMismatchError(
        f"{where}: config '{config}' holds videos of another recipe source or render settings ({differences}); "
        f"nothing was rendered. Render into another output, or into a named config of this dataset with "
        f"-p config=NAME (its own subfolder and `configs` entry)"
    )


def merged(
    where: str, identities: dict[str, DatasetIdentity], config: str, wanted: DatasetIdentity
) -> dict[str, DatasetIdentity] | None:
    """The identities with `config` claimed for `wanted`; None when it already was. Refuses a mismatch."""
    recorded = identities.get(config)
    if recorded is None:
        return {**identities, config: wanted}
    if recorded != wanted:
        raise refusal(where, config, recorded, wanted)
    return None


def _dataset_like(root: Path) -> bool:
    """Only what a dataset folder holds (no record yet: made by an earlier version, or empty); a README.md
    must be a Simian dataset card."""
    allowed = {"data", "metadata.jsonl", "README.md"}
    if not all(p.name in allowed or p.name.startswith(".") for p in root.iterdir()):
        return False
    card = root / "README.md"
    if not card.exists():
        return True
    return card.is_file() and "\n- simian\n" in card.read_text(encoding="utf-8", errors="replace")


def _legacy_identities(root: Path, wanted: DatasetIdentity) -> dict[str, DatasetIdentity]:
    """Identities of a folder an earlier version filled (no record): read from its sidecars."""
    found: set[str] = set()
    for sidecar in root.glob("data/*/*.json"):
        try:
            row = json.loads(sidecar.read_text(encoding="utf-8"))
            combination = row.get("combination") or {}
            settings = {k: v for k, v in (row.get("settings") or {}).items() if k not in ("device", "preset")}
        except (OSError, ValueError, AttributeError):
            continue
        recipes = {"seed": combination.get("seed")} if combination.get("seed") is not None else {"file": "?"}
        found.add(json.dumps({"recipes": recipes, "render": settings}, sort_keys=True))
    if not found:
        return {}
    want = wanted.model_dump(mode="json")
    want_key = json.dumps({"recipes": {"seed": want["recipes"].get("seed")}, "render": want["render"]}, sort_keys=True)
    if found == {want_key}:
        return {DEFAULT_CONFIG: wanted}
    legacy = DatasetIdentity.model_validate(json.loads(sorted(found)[0]))
    raise refusal(str(root), DEFAULT_CONFIG, legacy, wanted)


def claim_local(root: Path, config: str, wanted: DatasetIdentity, lock_dir: Path, record: bool = True) -> None:
    """Record `wanted` for `config` in the folder, or refuse when the folder says otherwise (under a file lock
    in `lock_dir`, so concurrent chunks on this machine agree; the dataset keeps no lock file). A non-empty
    folder that is not a dataset is refused. With `record=False` only check."""
    if not root.exists() and not record:
        return
    root.mkdir(parents=True, exist_ok=True)
    path = root / IDENTITY_FILE
    lock_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    with FileLock(lock_dir / f"dataset-{digest}.lock"):
        if path.is_file():
            identities = read_identities(path.read_text(encoding="utf-8"))
        elif _dataset_like(root):
            identities = _legacy_identities(root, wanted)
        else:
            raise InvalidInputError(
                f"output: {root} holds files that are not a Simian dataset; nothing was written. Choose a new "
                "or empty folder for the dataset"
            )
        updated = merged(str(root), identities, config, wanted)
        if record and (updated is not None or not path.is_file()):
            atomic.write_text(path, dump_identities(updated or identities))
