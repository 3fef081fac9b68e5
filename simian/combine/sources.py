"""Where combinations come from: a seed (derived per index) or a combinations file/URL.

Both are random access: combination i is derived when it is asked for, so a range of any length
costs no memory up front. A file is finite and already in memory, so `validate` checks every entry
of a range before any render starts; a seed source derives valid recipes by construction.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from simian.assets.licenses import Refusal, refuse
from simian.captions.styles import with_all_captions
from simian.combine.combiner import CombinerOptions, combination_for, rng_for
from simian.combine.reference_format import from_reference, is_reference_entry
from simian.combine.variants import CAPTION_FIELDS, camera_variant
from simian.errors import InvalidInputError, shorten
from simian.recipe.assets import AssetResolver, check_assets
from simian.recipe.combination import Combination, parse_combination
from simian.scene.plan import PLANNED_CLIP, Clip

RECIPES_KEPT = 256  # recipes a source keeps once derived: more than a chunk's render tasks ask for at once

#: The largest index anything downstream stores (a signed 64-bit integer: Redis, SQLite, Arrow columns).
MAX_INDEX = 2**63 - 2


class CombinationSource(Protocol):
    def get(self, index: int, variant: int = 0) -> Combination: ...

    def validate(self, start: int, end: int) -> None: ...

    def __len__(self) -> int: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class SeedSource:
    """Combination i is drawn from (seed, i) alone: unbounded, random access."""

    seed: int
    options: CombinerOptions = field(default_factory=CombinerOptions)
    clip: Clip = PLANNED_CLIP  # the clip the shots are framed and the captions written for

    def get(self, index: int, variant: int = 0) -> Combination:
        if index < 0:
            raise InvalidInputError(f"index: {index} is negative; indices start at 0")
        return _drawn(self.seed, index, self.options, variant, self.clip)

    def validate(self, start: int, end: int) -> None:
        """Nothing to check: the combiner draws valid recipes from built-in assets only."""

    def __len__(self) -> int:
        return MAX_INDEX + 1

    def describe(self) -> str:
        return f"seed {self.seed}"


@lru_cache(maxsize=RECIPES_KEPT)
def _drawn(seed: int, index: int, options: CombinerOptions, variant: int, clip: Clip) -> Combination:
    """Drawing and fitting a recipe takes tens of milliseconds, and a render task needs it several times (cache
    key, render, metadata row); recipes are frozen, so one drawing serves them all."""
    return combination_for(seed, index, options, variant, clip)


_INDEX = TypeAdapter(int)


def _declared_index(entry: Any, position: int) -> int | None:
    """The index an entry will be rendered under (its own "index", else its position); None if not an int."""
    if not isinstance(entry, dict) or "index" not in entry:
        return position
    try:
        return _INDEX.validate_python(entry["index"])
    except ValidationError:
        return None  # reported by the entry's own validation


@dataclass
class FileSource:
    """A combinations file (ours or the reference's format), loaded once."""

    location: str
    entries: list[Any]
    seed: int | None = None
    digest: str = ""  # sha256 of the file's bytes: part of a dataset's identity
    clip: Clip = PLANNED_CLIP  # the clip captions the file lacks (and camera variants) are written for
    _recipes: dict[tuple[int, int], Combination] = field(default_factory=dict, init=False, repr=False,
                                                         compare=False)  # fmt: skip

    def __post_init__(self) -> None:
        self._refuse_duplicate_indices()

    def _refuse_duplicate_indices(self) -> None:
        """Outputs are named by index: two entries with one index would overwrite each other's video."""
        seen: dict[int, int] = {}
        for position, entry in enumerate(self.entries):
            index = _declared_index(entry, position)
            if index is None:
                continue
            first = seen.setdefault(index, position)
            if first != position:
                raise InvalidInputError(
                    f"{self.describe()}: combinations[{position}]: field 'index': {shorten(str(index))} is also the "
                    f"index of combinations[{first}]; each entry needs its own index (outputs are named by it)"
                )

    def get(self, index: int, variant: int = 0) -> Combination:
        """Entry `index` with its captions; with `variant`, that scene under another camera move (see `variants`)."""
        kept = self._recipes.get((index, variant))
        if kept is None:
            if len(self._recipes) >= RECIPES_KEPT:
                self._recipes.clear()
            kept = self._recipes[(index, variant)] = self._derive(index, variant)
        return kept

    def _derive(self, index: int, variant: int) -> Combination:
        combination = self.scene(index)
        seed = combination.seed if combination.seed is not None else (self.seed or 0)
        if variant:
            scene = combination.model_copy(update=dict.fromkeys(CAPTION_FIELDS))
            combination, _ = camera_variant(scene, variant, seed, self.clip)
        return with_all_captions(combination, rng_for(seed, index), self.clip)

    def scene(self, index: int) -> Combination:
        """Entry `index` as the file has it, validated (captions the file lacks are not written)."""
        if not 0 <= index < len(self.entries):
            raise InvalidInputError(
                f"index: {index} is out of range for {self.describe()}, which holds {len(self.entries)} "
                f"combinations (valid indices 0..{len(self.entries) - 1})"
            )
        entry = self.entries[index]
        where = f"{self.describe()}: combinations[{index}]"
        if is_reference_entry(entry):
            entry = from_reference(entry, index, where)
        elif isinstance(entry, dict) and "index" not in entry:
            entry = {**entry, "index": index}
        combination = parse_combination(entry, where)
        if combination.index > MAX_INDEX:
            raise InvalidInputError(
                f"{where}: field 'index': {shorten(str(combination.index))} is above the largest index, {MAX_INDEX}"
            )
        if combination.variant != 0:
            raise InvalidInputError(
                f"{where}: field 'variant': {combination.variant}; a file's entries are scenes (variant 0), their "
                "camera variants are derived with camera_variants"
            )
        return combination

    def validate(self, start: int, end: int) -> None:
        """Every entry of [start, end) parses and its assets pass the offline checks (files exist, ids exist)."""
        for index in range(start, end):
            check_assets(self.scene(index), f"{self.describe()}: combinations[{index}]")

    def __len__(self) -> int:
        return len(self.entries)

    def describe(self) -> str:
        return shorten(self.location)


def _decode(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise InvalidInputError(
            f"combinations: {shown} is not UTF-8 text{hint}: invalid byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}; save it as UTF-8 JSON"
        ) from None


def _read_text(location: str, internal_endpoint: bool = True) -> str:
    if location.startswith(("http://", "https://")):
        # The guarded fetcher: this URL's host (and SIMIAN_ALLOWED_HOSTS) only, the download deadline, at most
        # SIMIAN_JSON_MAX_BYTES. Any failure is bad input naming the URL (without its credentials).
        from simian.errors import SimianError
        from simian.net import fetch_document, redact_url
        from simian.settings import load_settings

        shown = shorten(redact_url(location))
        try:
            data = fetch_document(
                location,
                load_settings(),
                source="combinations URL",
                setting="--combinations",
                internal_endpoint=internal_endpoint,
            )
        except SimianError as exc:
            raise InvalidInputError(f"combinations: could not fetch {shown}: {exc}") from None
        return _decode(data, shown)
    path = Path(location)
    shown = shorten(location)
    try:
        if path.is_dir():
            raise InvalidInputError(f"combinations: {shown} is a directory; give a combinations file (JSON)")
        if not path.exists():
            raise InvalidInputError(
                f"combinations: file {shown} does not exist; create it with `simian combine -o {shown}`"
            )
        data = _read_regular_file(path, shown)
    except OSError as exc:
        raise InvalidInputError(f"combinations: cannot read {shown} ({exc.strerror or exc})") from None
    return _decode(data, shown)


def _read_regular_file(path: Path, shown: str) -> bytes:
    """A regular file's bytes, at most SIMIAN_JSON_MAX_BYTES: a FIFO would block forever and /dev/zero never end."""
    from simian.settings import load_settings

    cap = load_settings().simian_json_max_bytes
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once instead of waiting for a writer
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInputError(
                f"combinations: {shown} is not a regular file (a pipe, device or socket); give a combinations file"
            )
        if info.st_size > cap:
            raise InvalidInputError(
                f"combinations: {shown} is {info.st_size} bytes, over SIMIAN_JSON_MAX_BYTES ({cap}); split it or "
                "raise the setting"
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:  # it grew while being read
        raise InvalidInputError(f"combinations: {shown} is over SIMIAN_JSON_MAX_BYTES ({cap}); split it")
    return data


def _parse_json(text: str, location: str) -> Any:
    from simian.net import loads_bounded
    from simian.settings import load_settings

    settings = load_settings()
    try:
        return loads_bounded(
            text, f"combinations: {location}", settings.simian_json_max_elements, settings.simian_json_max_depth
        )
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"combinations: {location} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InvalidInputError(
            f"combinations: {location} nests brackets too deeply to be a combinations file"
        ) from None
    except InvalidInputError:
        raise  # over the element or depth limits: the message names the setting
    except ValueError:  # json turns digits into int: more than sys.get_int_max_str_digits() of them are refused
        raise InvalidInputError(
            f"combinations: {location} holds an integer of more than {sys.get_int_max_str_digits()} digits"
        ) from None


def load_file_source(location: str, clip: Clip = PLANNED_CLIP, *, internal_endpoint: bool = True) -> FileSource:
    """Parse a combinations file; malformed JSON or shape is an error naming the file and position. A URL from a
    flow parameter (`internal_endpoint` False) may not point at an internal address."""
    text = _read_text(location, internal_endpoint)
    data = _parse_json(text, shorten(location))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if isinstance(data, list):
        return FileSource(location, data, digest=digest, clip=clip)
    if not isinstance(data, dict) or not isinstance(data.get("combinations"), list):
        raise InvalidInputError(
            f"combinations: {shorten(location)} must be a JSON object with a 'combinations' list "
            '(as written by `simian combine`: {"seed": S, "count": N, "combinations": [...]}) or a list'
        )
    seed = data.get("seed")
    return FileSource(location, data["combinations"], seed if type(seed) is int else None, digest, clip)


def open_source(
    seed: int | None = None,
    combinations: str | None = None,
    options: CombinerOptions | None = None,
    clip: Clip = PLANNED_CLIP,
) -> CombinationSource:
    """A seed or a file; `clip` is the render's (shots framed and captions written for it)."""
    if (seed is None) == (combinations is None):
        raise InvalidInputError("give exactly one combination source: --seed S or --combinations FILE")
    if combinations is not None:
        return load_file_source(combinations, clip)
    return SeedSource(int(seed), options or CombinerOptions(), clip)  # type: ignore[arg-type]


def refuse_unlicensed(
    source: CombinationSource, start: int, end: int, allowed: Sequence[str], resolver: AssetResolver
) -> None:
    """Before anything renders: every asset of scenes [start, end) has an allowed licence, or one error names each
    asset that has not. Scenes drawn from a seed use built-in assets only, so the first one stands for all."""
    found: list[Refusal] = []
    if isinstance(source, FileSource):
        for index in range(start, end):
            found += resolver.refusals(source.scene(index), allowed, f"{source.describe()}: combinations[{index}]")
    else:
        first = source.get(start)
        where = f"{source.describe()} (its scenes use built-in assets only), combination {start}"
        found = resolver.refusals(first, allowed, where)
    refuse(found, allowed)
