"""Asset licences: what each asset of a scene is licensed under and whom to credit, and the allow-list a run may
set (`--licenses cc0,cc-by-4.0`, flow parameter `licenses`).

Licence ids are the Hugging Face Hub's (`cc0-1.0`, `cc-by-4.0`, ..., `mit`), so a dataset card's `license`
field can carry them; the short forms people type (`cc0`, `by`, `cc-by`) and the Sketchfab slugs Objaverse's
annotations use (`by-nc-sa`, ...) are accepted and normalised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from simian.errors import InvalidInputError, shorten

#: id -> (name, deed URL)
LICENSES: dict[str, tuple[str, str | None]] = {
    "cc0-1.0": ("CC0 1.0 Universal (public domain dedication)", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "cc-by-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-by-sa-4.0": ("Creative Commons Attribution-ShareAlike 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "cc-by-nd-4.0": (
        "Creative Commons Attribution-NoDerivatives 4.0",
        "https://creativecommons.org/licenses/by-nd/4.0/",
    ),
    "cc-by-nc-4.0": (
        "Creative Commons Attribution-NonCommercial 4.0",
        "https://creativecommons.org/licenses/by-nc/4.0/",
    ),
    "cc-by-nc-sa-4.0": (
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    ),
    "cc-by-nc-nd-4.0": (
        "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
        "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    ),
    "mit": ("MIT License", "https://opensource.org/license/mit"),
    "unknown": ("licence not recorded", None),
}
#: Short forms and Sketchfab's slugs (Objaverse's annotations; Sketchfab's CC licences are version 4.0).
ALIASES = {
    "cc0": "cc0-1.0",
    "by": "cc-by-4.0",
    "by-sa": "cc-by-sa-4.0",
    "by-nd": "cc-by-nd-4.0",
    "by-nc": "cc-by-nc-4.0",
    "by-nc-sa": "cc-by-nc-sa-4.0",
    "by-nc-nd": "cc-by-nc-nd-4.0",
    **{f"cc-{slug}": f"cc-{slug}-4.0" for slug in ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd")},
}
#: The built-in assets are Simian's own work, under the project's licence.
PROJECT_LICENSE = "mit"


class AssetLicense(BaseModel):
    """One asset of a scene: its licence and the credit it asks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset: str
    role: str  # object, background or floor
    license: str  # an id of LICENSES
    license_name: str
    license_url: str | None
    attribution: str


def license_id(text: str) -> str | None:
    """The licence id a text names (an id, a short form or a Sketchfab slug, any case); None if it names none."""
    key = text.strip().lower()
    return key if key in LICENSES else ALIASES.get(key)


def licensed(asset: str, role: str, text: str, attribution: str) -> AssetLicense:
    """An asset's licence from what its source states; an unrecognised statement is recorded as unknown."""
    ident = license_id(text) or "unknown"
    name, url = LICENSES[ident]
    if ident == "unknown" and text.strip() and text.strip().lower() != "unknown":
        name = f"unrecognised licence {shorten(text.strip(), 60)!r}"
    return AssetLicense(
        asset=asset, role=role, license=ident, license_name=name, license_url=url, attribution=attribution
    )


def parse_allowed(values: str | Iterable[str], where: str = "licenses") -> tuple[str, ...]:
    """The allow-list, from 'cc0,cc-by-4.0' or a list: normalised ids, sorted; an unknown one is refused by name."""
    items = values.split(",") if isinstance(values, str) else list(values)
    prefix = f"{where}: " if where else ""
    allowed: set[str] = set()
    for item in items:
        if not str(item).strip():
            continue
        ident = license_id(str(item))
        if ident is None:
            known = ", ".join(sorted(LICENSES))
            raise InvalidInputError(
                f"{prefix}{shorten(str(item), 60)!r} is not a licence id; use ids such as {known} (or cc0, cc-by)"
            )
        allowed.add(ident)
    if not allowed:
        raise InvalidInputError(f"{prefix}no licence given; list the allowed ones, e.g. cc0,cc-by-4.0")
    return tuple(sorted(allowed))


class LicenseRefusedError(InvalidInputError):
    """Assets of a scene are licensed outside the run's allow-list."""


@dataclass(frozen=True)
class Refusal:
    where: str  # the combination and the field, e.g. "combination 7: objects[1].asset"
    license: AssetLicense

    def line(self, allowed: Sequence[str]) -> str:
        lic = self.license
        return (
            f"{self.where} {lic.asset} is licensed {lic.license} ({shorten(lic.attribution, 160)}), "
            f"not {' or '.join(allowed)}"
        )


def refusals(
    where: str, fields: Sequence[str], licenses: Sequence[AssetLicense], allowed: Sequence[str]
) -> list[Refusal]:
    """The assets of one scene outside `allowed`, with the fields that name them."""
    pairs = zip(fields, licenses, strict=True)
    return [Refusal(f"{where}: {field}", lic) for field, lic in pairs if lic.license not in allowed]


def refuse(found: Sequence[Refusal], allowed: Sequence[str], shown: int = 20) -> None:
    """Raise one error naming every refused asset (the first `shown`) and the fix, if there are any."""
    if not found:
        return
    lines = [r.line(allowed) for r in found[:shown]]
    if len(found) > shown:
        lines.append(f"... and {len(found) - shown} more")
    others = sorted({r.license.license for r in found})
    raise LicenseRefusedError(
        "\n".join(lines) + f"\nnothing was rendered: allow {', '.join(others)} too "
        f"(--licenses {','.join([*allowed, *others])}), or leave those assets out"
    )


def unique_by_asset(licenses: Iterable[AssetLicense]) -> list[AssetLicense]:
    """Each asset once (a scene may use one asset twice), in first-use order."""
    seen: dict[tuple[str, str], AssetLicense] = {}
    for lic in licenses:
        seen.setdefault((lic.asset, lic.role), lic)
    return list(seen.values())
