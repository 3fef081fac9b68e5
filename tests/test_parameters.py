"""Knobs are defined once: the flow's signature, its run form and the CLI flags cannot drift from the models."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator

import pytest
from prefect.utilities.callables import parameter_schema

from flows.render_range import render_range
from simian.cli import build_parser
from simian.combine.combiner import CombinerOptions, combination_for
from simian.combine.sources import MAX_INDEX
from simian.errors import InvalidInputError
from simian.orchestration.job import AUTO_CHUNK_MAX, AUTO_DRY_CHUNK_MAX, RangeJob, flow_fields, parse_job
from simian.render.render_settings import RenderSettings
from simian.settings import load_settings
from simian.settings.parameters import is_cli_only

from .conftest import REPO


def test_flow_signature_is_the_models_fields():
    fields = flow_fields()
    signature = inspect.signature(render_range)
    assert list(signature.parameters) == list(fields)
    for name, parameter in signature.parameters.items():
        field = fields[name]
        assert parameter.annotation == field.annotation, name
        expected = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        assert parameter.default == expected, name
    for model in (RenderSettings, CombinerOptions):
        for name, field in model.model_fields.items():
            assert (name in signature.parameters) != is_cli_only(field), name
    own = {n for n in RangeJob.model_fields if n not in ("render", "combiner")}
    assert own <= set(signature.parameters)
    assert not own & set(RenderSettings.model_fields) and not own & set(CombinerOptions.model_fields)
    assert not set(RenderSettings.model_fields) & set(CombinerOptions.model_fields)


def test_run_form_shows_every_parameter_with_its_description_and_limits():
    """What `prefect deploy` sends to the server as the deployment's parameter schema."""
    properties = parameter_schema(render_range).model_dump_for_openapi()["properties"]
    fields = flow_fields()
    assert list(properties) == list(fields)
    for name, prop in properties.items():
        assert prop.get("description") == fields[name].description, name
        assert prop["description"], name
    # A preset fills the clip shape, so those parameters stay unset (None) unless the user gives them.
    assert properties["width"].get("default") is None and "pixels" in properties["width"]["description"]
    assert "unset: the preset's value, else 320" in properties["width"]["description"]
    assert properties["samples"]["default"] == 8
    assert properties["engine"]["enum"] == ["cycles", "eevee", "workbench"]
    assert "1-9" in properties["max_objects"]["description"]


def test_flat_parameters_fill_the_nested_models():
    job = RangeJob.from_parameters({"start": 0, "end": 4, "width": 64, "height": 48, "movement": True, "seed": 3})
    assert job.render == RenderSettings(width=64, height=48)
    assert job.combiner == CombinerOptions(movement=True)
    with pytest.raises(InvalidInputError, match="parameter 'width'.*odd"):
        parse_job({"start": 0, "end": 4, "width": 65})
    with pytest.raises(InvalidInputError, match="parameter 'max_objects'"):
        parse_job({"start": 0, "end": 4, "max_objects": 12})


def test_cli_flags_come_from_the_models():
    parser = build_parser()
    render = parser._subparsers._group_actions[0].choices["render"]  # type: ignore[union-attr]
    help_text = render.format_help()
    for model in (RenderSettings, CombinerOptions):
        for name, field in model.model_fields.items():
            flag = "--" + name.replace("_", "-")
            assert flag in help_text, flag
            assert (field.description or "")[:20] in " ".join(help_text.split()), name
    args = parser.parse_args(["render", "--index", "0", "--seed", "1", "--width", "64", "-o", "x"])
    assert args.width == 64 and args.height is None, "unset flags stay unset, so the model's default applies"


def test_env_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("REDIS_PORT=6390\nSIMIAN_PREFECT_PORT=4300\nPOSTGRES_PASSWORD=unrelated\n")
    monkeypatch.delenv("REDIS_PORT", raising=False)
    monkeypatch.setenv("SIMIAN_PREFECT_PORT", "4400")
    settings = load_settings(env_file)
    assert settings.redis_port == 6390 and settings.simian_prefect_port == 4400
    env_file.write_text("REDIS_PORT=99999\n")
    with pytest.raises(InvalidInputError, match="REDIS_PORT"):
        load_settings(env_file)


def test_concurrent_combine_into_one_file_never_collides(tmp_path):
    """Each writer has its own temporary name beside the target; the file is always one whole document."""
    import json
    import subprocess
    import sys

    target = tmp_path / "combinations.json"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "simian.cli", "combine", "--seed", str(seed), "--count", "40", "-o", str(target)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2, 3)
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    data = json.loads(target.read_text())
    assert data["seed"] in (1, 2, 3) and len(data["combinations"]) == 40
    assert [p.name for p in tmp_path.iterdir()] == ["combinations.json"], "no temporary file left"


def test_dataset_folders_are_confined_to_the_output_root(tmp_path):
    from simian.dataset.location import confine_output
    from simian.settings import Settings

    project = Settings()  # no SIMIAN_OUTPUT_ROOT: datasets go below the project folder
    assert confine_output("dataset", project) == (REPO / "dataset").resolve()
    for output, needle in (
        (".", "project folder"),
        ("..", "project folder"),
        ("/etc/x", "system folder"),
        ("/", "system folder"),
        (str(tmp_path), "not below the output root"),
        ("data\x00set", "NUL character"),  # a bare ValueError (embedded null byte) before
    ):
        with pytest.raises(InvalidInputError, match=needle):
            confine_output(output, project)
    rooted = Settings(simian_output_root=tmp_path)
    assert confine_output("a/b", rooted) == tmp_path / "a" / "b"
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(InvalidInputError, match="system folder"):
        confine_output("link", rooted)


def test_passes_are_part_of_the_cache_key_and_of_the_dataset_identity():
    from simian.orchestration.tasks import render_cache_key

    plain = RangeJob.from_parameters({"start": 0, "end": 1, "seed": 3})
    depth = RangeJob.from_parameters({"start": 0, "end": 1, "seed": 3, "passes": ["depth"]})
    both = RangeJob.from_parameters({"start": 0, "end": 1, "seed": 3, "passes": ["segmentation", "depth", "depth"]})
    combination = plain.source().get(0)
    keys = {render_cache_key(job, combination) for job in (plain, depth, both)}
    assert len(keys) == 3
    assert both.render.passes == ("depth", "segmentation"), "one order, no repeats: one key per set of passes"
    assert "passes" not in plain.render.cache_dict(), "keys of videos without passes are what they were"
    assert plain.identity() != depth.identity()
    args = build_parser().parse_args(
        ["render", "--index", "0", "--seed", "1", "--passes", "segmentation,depth", "-o", "x"]
    )
    assert args.passes == ("segmentation", "depth")


def test_the_render_timeout_defaults_to_the_setting_and_a_parameter_overrides_it(monkeypatch):
    """The flow used to keep its own 900 s whatever SIMIAN_RENDER_TIMEOUT_S said."""
    monkeypatch.setenv("SIMIAN_RENDER_TIMEOUT_S", "42")
    assert parse_job({"start": 0, "end": 2, "seed": 1}).timeout_s == 42
    assert parse_job({"start": 0, "end": 2, "seed": 1, "timeout_s": 7}).timeout_s == 7


def test_the_project_folder_is_the_checkout_from_any_working_directory(tmp_path, monkeypatch):
    """Relative dataset folders and the `.env` file are found from the checkout, not from a worker's folder."""
    from simian.settings import project_root

    monkeypatch.chdir(tmp_path)
    assert project_root() == REPO


def test_an_unset_chunk_size_spreads_the_range_over_the_render_workers_online():
    job = RangeJob.from_parameters({"start": 0, "end": 10})
    assert job.chunk_size is None
    assert list(job.sized_for(1).chunks()) == [(0, 10)], "one worker: one chunk run, no queue of tiny ones"
    assert list(job.sized_for(3).chunks()) == [(0, 4), (4, 8), (8, 10)]
    assert list(job.sized_for(0).chunks()) == [(0, 10)], "no worker online yet: the range still gets chunks"
    big = RangeJob.from_parameters({"start": 0, "end": 1000}).sized_for(2)
    assert big.chunk_size == AUTO_CHUNK_MAX and big.chunk_count() == len(list(big.chunks())) == -(-1000 // 64)
    asked = RangeJob.from_parameters({"start": 0, "end": 10, "chunk_size": 2})
    assert list(asked.sized_for(1).chunks()) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)], "an explicit size is kept"
    with pytest.raises(ValueError, match="chunk_size is unset"):
        job.chunks()


def test_parquet_shards_fix_the_chunks_to_the_shard_grid():
    """In the Parquet layout a chunk covers whole shards of the grid (but the range's ends), whatever the range's
    start: no two chunks of one range write one shard; a chunk size off the grid is refused by name."""
    job = RangeJob.from_parameters({"start": 100, "end": 900, "hf_layout": "parquet", "hf_shard_size": 256})
    assert list(job.sized_for(8).chunks()) == [(100, 256), (256, 512), (512, 768), (768, 900)]
    wide = job.model_copy(update={"chunk_size": 512})
    assert list(wide.chunks()) == [(100, 512), (512, 900)]
    assert job.shard_grid().shards(100, 900) == range(0, 4)
    for given, name in (
        ({"chunk_size": 100}, "chunk_size"),
        ({"hf_layout": "zip"}, "hf_layout"),
        ({"hf_shard_size": 0}, "hf_shard_size"),
        ({"images": True}, "hf_layout"),
    ):
        with pytest.raises(InvalidInputError, match=name):
            parse_job({"start": 0, "end": 2, "seed": 1, "hf_layout": "parquet", **given})


def test_a_dry_run_plans_in_chunks_of_thousands():
    """A dry run renders nothing: its chunks amortise a flow run's fixed cost over thousands of combinations."""
    dry = RangeJob.from_parameters({"start": 0, "end": 1_000_000, "dry_run": True}).sized_for(4)
    assert dry.chunk_size == AUTO_DRY_CHUNK_MAX == 4096 and dry.chunk_count() == 245
    assert RangeJob.from_parameters({"start": 0, "end": 1000, "dry_run": True}).sized_for(4).chunk_size == 250
    assert RangeJob.from_parameters({"start": 0, "end": 10**6, "dry_run": True, "chunk_size": 7}).sized_for(4) \
        .chunk_size == 7  # fmt: skip


@pytest.mark.parametrize(("start", "end", "size"), [(0, 10, 3), (5, 6, 1), (7, 1000, 64), (3, 4099, 4096), (0, 8, 8)])
def test_the_chunks_are_made_lazily_and_are_the_same_chunks(start, end, size):
    job = RangeJob(start=start, end=end, chunk_size=size)
    count = -(-(end - start) // size)
    before = [(start + k * size, min(end, start + (k + 1) * size)) for k in range(count)]  # the list made up front
    chunks = job.chunks()
    assert isinstance(chunks, Iterator) and list(chunks) == before and job.chunk_count() == count
    assert all(job.chunk_of(i) == next(c for c in before if c[0] <= i < c[1]) for i in range(start, end))
    huge = RangeJob(start=0, end=MAX_INDEX, chunk_size=1)
    assert next(huge.chunks()) == (0, 1) and huge.chunk_count() == MAX_INDEX, "no list of 2^63 chunks is made"


@pytest.mark.parametrize(
    ("given", "name"), [({"frames": "12"}, "frames"), ({"frames": True}, "frames"), ({"movement": 1}, "movement")]
)
def test_flow_parameters_are_strictly_typed(given, name):
    """The range flow takes its parameters unconverted (Prefect's coercion is off) and parse_job refuses wrong types
    by name, whoever submits them."""
    with pytest.raises(InvalidInputError, match=f"parameter '{name}': Input should be a valid"):
        parse_job({"start": 0, "end": 2, "seed": 1, **given})
    assert render_range.should_validate_parameters is False


def test_a_flow_combinations_url_reaches_an_internal_address_only_when_the_operator_allows_it(tmp_path, monkeypatch):
    """Anyone who can reach the Prefect API sets flow parameters, so a `combinations` URL there may not point at
    loopback or a private address (the CLI's --combinations URL is the operator's own and may)."""
    import functools
    import http.server
    import threading

    from simian.combine.sources import load_file_source
    from simian.orchestration import job as job_module

    (tmp_path / "c.json").write_text(json.dumps(combine_file(2)))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/c.json"
    try:
        monkeypatch.delenv("SIMIAN_FLOW_INTERNAL_URLS", raising=False)
        job_module._cached_file_source.cache_clear()
        with pytest.raises(InvalidInputError, match="SIMIAN_FLOW_INTERNAL_URLS=1"):
            parse_job({"start": 0, "end": 2, "seed": None, "combinations": url})
        assert len(load_file_source(url)) == 2, "the CLI path (the operator's own URL) reaches it"
        monkeypatch.setenv("SIMIAN_FLOW_INTERNAL_URLS", "1")
        job_module._cached_file_source.cache_clear()
        assert parse_job({"start": 0, "end": 2, "seed": None, "combinations": url}).end == 2
    finally:
        server.shutdown()
        job_module._cached_file_source.cache_clear()


def combine_file(count: int) -> dict:
    return {
        "seed": 1,
        "count": count,
        "combinations": [combination_for(1, i).model_dump(mode="json") for i in range(count)],
    }


@pytest.mark.parametrize("field", ["output", "config", "combinations"])
def test_a_nul_byte_in_a_path_parameter_is_a_clear_error(field):
    given = {"start": 0, "end": 2, field: "data\x00set"}
    with pytest.raises(InvalidInputError) as raised:
        parse_job(given)
    assert field in str(raised.value) and "embedded null byte" not in str(raised.value), str(raised.value)
