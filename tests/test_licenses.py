"""Asset licences: every asset states one; Objaverse's come from the dataset's annotations through the real Hub
client (against the Hub test double); a run restricted to some licences refuses other assets before rendering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simian.assets.licenses import LicenseRefusedError, parse_allowed
from simian.assets.objaverse import ObjaverseSource
from simian.combine.combiner import combine
from simian.combine.variants import VideoKey
from simian.errors import InvalidInputError
from simian.orchestration.job import parse_job, refuse_unlicensed_range
from simian.orchestration.publish import rows_from_outcomes
from simian.recipe.assets import AssetResolver
from simian.recipe.combination import parse_combination
from simian.settings import Settings

from .conftest import run_simian
from .doubles.hub import HubTestDouble

OPEN = "0123456789abcdef0123456789abcdef"
NONCOMMERCIAL = "fedcba9876543210fedcba9876543210"
UNANNOTATED = "00000000000000000000000000000abc"
ODD = "11111111111111111111111111111111"
HOSTILE = "22222222222222222222222222222222"
GLB = b"glTF\x02\x00\x00\x00" + b"\x00" * 24  # never loaded: licences are known before any download
ANNOTATIONS = {
    OPEN: {
        "uid": OPEN,
        "name": "Old Lantern",
        "license": "cc0",
        "user": {"displayName": "Ada", "username": "ada"},
        "viewerUrl": f"https://sketchfab.com/3d-models/{OPEN}",
    },
    NONCOMMERCIAL: {
        "uid": NONCOMMERCIAL,
        "name": "Brass Kettle",
        "license": "by-nc",
        "user": {"displayName": "Grace Hopper", "username": "grace"},
        "viewerUrl": f"https://sketchfab.com/3d-models/{NONCOMMERCIAL}",
    },
    ODD: {"uid": ODD, "name": "x" * 5000, "license": "all rights reserved", "user": "not an object"},
    HOSTILE: {
        "uid": HOSTILE,
        "name": "Lamp\n\x1b[31m<script>alert(1)</script> [click](javascript:alert(1)) \u202egnp.exe",
        "license": "cc0",
        "user": {"displayName": "Mallory\r\n# Heading | cell"},
        "viewerUrl": f"https://sketchfab.com/3d-models/{HOSTILE}",
    },
}


@pytest.fixture
def hub(tmp_path: Path):
    with HubTestDouble(tmp_path / "hub") as double:
        double.add_objaverse_objects({uid: (GLB, ANNOTATIONS.get(uid)) for uid in (OPEN, NONCOMMERCIAL, ODD, HOSTILE)})
        double.add_objaverse_objects({UNANNOTATED: (GLB, None)}, folder="000-024")
        yield double


def _env(hub: HubTestDouble, tmp_path: Path) -> dict[str, str]:
    return {"HF_ENDPOINT": hub.url, "SIMIAN_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_DISABLE_XET": "1"}


def _file(tmp_path: Path, uids: list[str]) -> Path:
    """A combinations file: Objaverse objects on a Poly Haven floor under a Poly Haven sky (both CC0)."""
    data = combine(3, 1)
    entry = data["combinations"][0]
    template = entry["objects"][0]
    entry["objects"] = [
        {
            **template,
            "asset": f"objaverse:{uid}",
            "name": f"object {n}",
            "description": f"object {n}",
            "placement": [4, 5, 3][n],
            "movement": None,
            "camera_follow": False,
        }
        for n, uid in enumerate(uids)
    ]
    entry["background"] = {"asset": "polyhaven:test_sky", "name": "test sky"}
    entry["stage"] = {**entry["stage"], "floor": "polyhaven:test_tiles", "name": "test tiles"}
    for field in ("caption", "captions", "caption_short", "caption_camera", "captions_structured"):
        entry[field] = None
    path = tmp_path / "combinations.json"
    path.write_text(json.dumps(data))
    return path


def test_licence_ids_are_normalised_and_unknown_ones_refused():
    assert parse_allowed("cc0, CC-BY-4.0,by-nc") == ("cc-by-4.0", "cc-by-nc-4.0", "cc0-1.0")
    assert parse_allowed(["mit"]) == ("mit",)
    with pytest.raises(InvalidInputError, match="'gpl' is not a licence id"):
        parse_allowed("cc0,gpl", "--licenses")
    with pytest.raises(InvalidInputError, match="no licence given"):
        parse_allowed(" , ")


def test_every_source_states_a_licence_and_a_credit(tmp_path):
    resolver = AssetResolver(Settings(simian_cache_dir=tmp_path))
    data = combine(2, 1)["combinations"][0]
    builtin = resolver.licenses(parse_combination(data))
    assert {lic.license for lic in builtin} == {"mit"} and all("Simian" in lic.attribution for lic in builtin)
    mixed = parse_combination(
        {
            **data,
            "background": {"asset": "polyhaven:kloppenheim", "name": "sky"},
            "stage": {**data["stage"], "floor": "file:/data/floor", "name": "my floor"},
        }
    )
    by_role = {lic.role: lic for lic in resolver.licenses(mixed)}
    assert by_role["background"].license == "cc0-1.0"
    assert "polyhaven.com/a/kloppenheim" in by_role["background"].attribution
    assert by_role["floor"].license == "unknown" and "supplied by the user" in by_role["floor"].attribution


def test_objaverse_licences_come_from_the_annotations_once(hub, tmp_path):
    source = ObjaverseSource(Settings(hf_endpoint=hub.url, simian_cache_dir=tmp_path / "cache"))
    kettle = source.license(NONCOMMERCIAL)
    assert kettle.license == "cc-by-nc-4.0" and kettle.license_url == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert kettle.attribution == (
        f"“Brass Kettle” by Grace Hopper (https://sketchfab.com/3d-models/{NONCOMMERCIAL}), "
        "Creative Commons Attribution-NonCommercial 4.0"
    )
    assert source.license(OPEN).license == "cc0-1.0"
    odd = source.license(ODD)
    assert odd.license == "unknown" and "unrecognised licence 'all rights reserved'" in odd.license_name
    assert len(odd.attribution) < 400, "annotation text is capped"
    assert source.license(UNANNOTATED).license == "unknown"
    assert hub.count("GET", "metadata/000-023.json.gz") == 1, "one annotations file per folder, loaded once"
    assert hub.count("GET", ".glb") == 0, "no object is downloaded to know its licence"
    again = ObjaverseSource(Settings(hf_endpoint=hub.url, simian_cache_dir=tmp_path / "cache"))
    assert again.license(NONCOMMERCIAL) == kettle
    assert hub.count("GET", "metadata/000-023.json.gz") == 1, "the per-machine cache serves a new client"


def test_a_cc0_render_refuses_an_objaverse_object_licensed_otherwise_and_names_it(hub, tmp_path):
    source = _file(tmp_path, [OPEN, NONCOMMERCIAL])
    out = tmp_path / "out"
    result = run_simian(
        "render",
        "--index",
        "0",
        "--combinations",
        str(source),
        "--licenses",
        "cc0",
        "-o",
        str(out),
        env=_env(hub, tmp_path),
    )
    assert result.returncode == 2, result.stderr
    assert f"combinations[0]: objects[1].asset objaverse:{NONCOMMERCIAL} is licensed cc-by-nc-4.0" in result.stderr
    assert "“Brass Kettle” by Grace Hopper" in result.stderr and "not cc0-1.0" in result.stderr
    assert OPEN not in result.stderr and "polyhaven" not in result.stderr, "allowed assets are not named"
    assert "nothing was rendered" in result.stderr and "--licenses cc0-1.0,cc-by-nc-4.0" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    assert hub.count("GET", ".glb") == 0


def test_the_range_flow_refuses_before_submitting_and_rows_list_the_licences(hub, tmp_path, monkeypatch):
    for name, value in _env(hub, tmp_path).items():
        monkeypatch.setenv(name, value)
    source = _file(tmp_path, [OPEN, NONCOMMERCIAL])
    job = parse_job({"start": 0, "end": 1, "combinations": str(source), "licenses": ["cc0", "cc-by-4.0"]})
    assert job.licenses == ["cc-by-4.0", "cc0-1.0"]
    with pytest.raises(LicenseRefusedError, match=f"objects\\[1\\].asset objaverse:{NONCOMMERCIAL} is licensed"):
        refuse_unlicensed_range(job)
    allowed = job.model_copy(update={"licenses": ["cc0-1.0", "cc-by-nc-4.0"]})
    refuse_unlicensed_range(allowed)
    outcome = {"status": "rendered", "file_name": "data/0000/00000000.mp4", "sha256": "0" * 64}
    row = rows_from_outcomes(allowed, {VideoKey(0): outcome})[VideoKey(0)]
    licences = {lic["asset"]: lic for lic in row["licenses"]}
    assert licences[f"objaverse:{NONCOMMERCIAL}"]["license"] == "cc-by-nc-4.0"
    assert "Grace Hopper" in licences[f"objaverse:{NONCOMMERCIAL}"]["attribution"]
    assert licences["polyhaven:test_sky"]["license"] == "cc0-1.0" and len(row["licenses"]) == 4
    with pytest.raises(InvalidInputError, match="parameter 'licenses'.*'gpl-3.0' is not a licence id"):
        parse_job({"start": 0, "end": 1, "licenses": ["gpl-3.0"]})


def test_annotation_text_reaches_the_card_as_plain_escaped_text(hub, tmp_path):
    """Objaverse annotations are third-party text: newlines, ESC, bidi overrides leave the attribution; on the card,
    markup (a script tag, a javascript: link, a heading, a table cell) is escaped, not rendered."""
    from simian.dataset.index import license_summary

    source = ObjaverseSource(Settings(hf_endpoint=hub.url, simian_cache_dir=tmp_path / "cache"))
    credit = source.license(HOSTILE)
    assert not any(ch in credit.attribution for ch in "\n\r\x1b\u202e"), repr(credit.attribution)
    card = license_summary([{"file_name": "a.mp4", "licenses": [credit.model_dump()]}])
    line = next(ln for ln in card.splitlines() if "Lamp" in ln)
    assert line.startswith("- ") and "Mallory" in line and "\n" not in line
    assert re.search(r"(?<!\\)[<>\[\]()|#`]", line[2:]) is None, f"unescaped markup in {line}"
    assert "\\<script\\>" in line and "\\]\\(javascript:" in line, line
