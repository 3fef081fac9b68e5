"""Where combinations come from: a seed (derived per index) or a combinations file/URL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from simian.captions import with_captions
from simian.combination import Combination, parse_combination
from simian.combiner import CombinerOptions, combination_for, rng_for
from simian.errors import InvalidInputError
from simian.reference_format import from_reference, is_reference_entry


class CombinationSource(Protocol):
    def get(self, index: int) -> Combination: ...

    def __len__(self) -> int: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class SeedSource:
    """Combination i is drawn from (seed, i) alone: unbounded, random access."""

    seed: int
    options: CombinerOptions = field(default_factory=CombinerOptions)

    def get(self, index: int) -> Combination:
        if index < 0:
            raise InvalidInputError(f"index: {index} is negative; indices start at 0")
        return combination_for(self.seed, index, self.options)

    def __len__(self) -> int:
        return 2**63 - 1

    def describe(self) -> str:
        return f"seed {self.seed}"


@dataclass
class FileSource:
    """A combinations file (ours or the reference's format), loaded once."""

    location: str
    entries: list[Any]
    seed: int | None = None
    digest: str = ""  # sha256 of the file's bytes: part of a dataset's identity

    def get(self, index: int) -> Combination:
        if not 0 <= index < len(self.entries):
            raise InvalidInputError(
                f"index: {index} is out of range for {self.location}, which holds {len(self.entries)} "
                f"combinations (valid indices 0..{len(self.entries) - 1})"
            )
        entry = self.entries[index]
        where = f"{self.location}: combinations[{index}]"
        if is_reference_entry(entry):
            combination = parse_combination(from_reference(entry, index), where)
        else:
            if isinstance(entry, dict) and "index" not in entry:
                entry = {**entry, "index": index}
            combination = parse_combination(entry, where)
        if combination.caption is None or combination.captions is None:
            seed = combination.seed if combination.seed is not None else (self.seed or 0)
            combination = with_captions(combination, rng_for(seed, index))
        return combination

    def __len__(self) -> int:
        return len(self.entries)

    def describe(self) -> str:
        return self.location


def _read_text(location: str) -> str:
    if location.startswith(("http://", "https://")):
        # The guarded fetcher: this URL's host (and SIMIAN_ALLOWED_HOSTS) only, the download deadline, at most
        # SIMIAN_JSON_MAX_BYTES. Any failure is bad input naming the URL (without its credentials).
        from simian.errors import SimianError
        from simian.net import fetch_document, redact_url
        from simian.settings import load_settings

        shown = redact_url(location)
        try:
            data = fetch_document(location, load_settings(), source="combinations URL", setting="--combinations")
        except SimianError as exc:
            raise InvalidInputError(f"combinations: could not fetch {shown}: {exc}") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"combinations: {shown} is not UTF-8 text (invalid byte at {exc.start})") from None
    path = Path(location)
    if not path.is_file():
        raise InvalidInputError(
            f"combinations: file {location} does not exist; create it with `simian combine -o {location}`"
        )
    return path.read_text(encoding="utf-8")


def load_file_source(location: str) -> FileSource:
    """Parse a combinations file; malformed JSON or shape is an error naming the file and position."""
    text = _read_text(location)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"combinations: {location} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if isinstance(data, list):
        return FileSource(location, data, digest=digest)
    if not isinstance(data, dict) or not isinstance(data.get("combinations"), list):
        raise InvalidInputError(
            f"combinations: {location} must be a JSON object with a 'combinations' list "
            '(as written by `simian combine`: {"seed": S, "count": N, "combinations": [...]}) or a list'
        )
    seed = data.get("seed") if isinstance(data.get("seed"), int) else None
    return FileSource(location, data["combinations"], seed, digest)


def open_source(
    seed: int | None = None, combinations: str | None = None, options: CombinerOptions | None = None
) -> CombinationSource:
    if (seed is None) == (combinations is None):
        raise InvalidInputError("give exactly one combination source: --seed S or --combinations FILE")
    if combinations is not None:
        return load_file_source(combinations)
    return SeedSource(int(seed), options or CombinerOptions())  # type: ignore[arg-type]
