"""`simian` command line: combine, schema, render (and the local stack commands).

Everything is validated before Blender starts; errors print one clear line per problem
and exit with status 2 (bad input) or 1 (some combinations failed).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from simian.errors import InvalidInputError, SimianError, capped, invalid_input, shorten

if TYPE_CHECKING:
    from collections.abc import Iterable

    from simian.combine.combiner import CombinerOptions
    from simian.combine.sources import CombinationSource
    from simian.combine.variants import VideoKey
    from simian.operations.stack import StackConfig
    from simian.recipe.assets import AssetResolver
    from simian.render import RenderSettings
    from simian.render.blender.claim_check import CombinationReport
    from simian.render.outputs import RenderedOutput
    from simian.settings import Settings

logger = logging.getLogger("simian")


class _Parser(argparse.ArgumentParser):
    """argparse, with errors kept to one short line (no usage dump, the bad value shortened)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {shorten(message)} (see {self.prog} --help)\n")


def _index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; indices start at 0")
    return value


def _index_range(text: str) -> tuple[int, int]:
    start, sep, end = text.partition(":")
    shown = shorten(text, 40)
    try:
        a, b = int(start), int(end)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown!r}: write START:END, e.g. 0:6 (END exclusive)") from None
    if not sep or a < 0 or b <= a:
        raise argparse.ArgumentTypeError(f"{shown!r}: need 0 <= START < END, e.g. 0:6")
    return a, b


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{shorten(text, 40)!r} is not a number of seconds above 0, e.g. 600")
    return value


def _add_combiner_flags(parser: argparse.ArgumentParser) -> None:
    from simian.combine.combiner import CombinerOptions
    from simian.settings.parameters import add_flags

    add_flags(parser.add_argument_group("combination drawing (with --seed)"), CombinerOptions)


def _combiner_options(args: argparse.Namespace) -> CombinerOptions:
    from simian.combine.combiner import CombinerOptions
    from simian.settings.parameters import given_values

    try:
        return CombinerOptions(**given_values(args, CombinerOptions))
    except ValidationError as exc:
        raise invalid_input(exc, name=lambda path: "--" + path.replace("_", "-")) from None


def cmd_combine(args: argparse.Namespace) -> int:
    from simian.combine.combiner import combine

    if args.count < 0:
        raise InvalidInputError("--count: must be 0 or more")
    out = Path(args.output)
    if args.output != "-" and out.is_dir():  # writing replaces the target: never a whole folder
        raise InvalidInputError(
            f"--output: {shorten(args.output)} is a folder; give the file to write, e.g. {out / 'combinations.json'}"
        )
    if args.output != "-":
        from simian.dataset.location import refuse_system_location

        refuse_system_location(out, "--output", "combinations file")
    from simian.render import RenderSettings, parse_render_settings
    from simian.settings.parameters import given_values

    clip = parse_render_settings(**given_values(args, RenderSettings)).clip()
    data = combine(args.seed, args.count, _combiner_options(args), clip)
    text = json.dumps(data, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from simian import atomic

        try:
            atomic.write_text(out, text)
        except OSError as exc:
            raise InvalidInputError(f"--output: cannot write {shorten(args.output)} ({exc.strerror or exc})") from None
        logger.info("wrote %d combinations (seed %d) to %s", args.count, args.seed, out)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from simian.recipe.combination import combination_schema

    sys.stdout.write(json.dumps(combination_schema(), indent=2) + "\n")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    """The clip presets, their shapes and where each shape comes from."""
    from simian.render.presets import preset_table

    for line in preset_table():
        print(line)
    print("\nUse one with --preset NAME (flow parameter preset); explicit --width/--height/--frames/--fps override it.")
    return 0


def _camera_variants(text: str) -> int:
    from simian.recipe.combination import MAX_CAMERA_VARIANTS

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CAMERA_VARIANTS:
        raise argparse.ArgumentTypeError(
            f"{shorten(text, 40)!r}: give how many camera moves per scene, 1 to {MAX_CAMERA_VARIANTS}"
        )
    return value


def _check_output_targets(out_dir: Path, start: int, end: int, settings: RenderSettings, variants: int = 1) -> None:
    """Refuse an output folder where an index of the range is taken by something a render cannot replace:
    a link or a file where its PNG frame folder goes, a folder where its video, sidecar or a ground-truth file
    goes.

    One listing of the folder, whatever the length of the range."""
    from simian.dataset import FLAT
    from simian.dataset import truth_columns as ground_truth
    from simian.dataset.layout import media_suffix

    if not out_dir.is_dir():
        return
    suffix = media_suffix(settings)
    for entry in os.scandir(out_dir):
        number, _, variant_text = entry.name.partition(".")[0].partition("-v")
        if not number.isdigit() or len(number) > 19 or not start <= int(number) < end:
            continue
        if variant_text and (not variant_text.isdigit() or len(variant_text) > 2):
            continue
        index, variant = int(number), int(variant_text or 0)
        if variant >= variants:
            continue
        if entry.name == FLAT.media(index, suffix, variant):
            wants_folder = settings.images
        elif (
            entry.name == FLAT.sidecar(index, variant)
            or entry.name in ground_truth.files(settings, FLAT.media(index, suffix, variant)).values()
        ):
            wants_folder = False
        else:
            continue
        is_folder = entry.is_dir(follow_symlinks=False)
        if wants_folder and not is_folder:
            kind = "a symbolic link" if entry.is_symlink() else "a file"
            raise InvalidInputError(
                f"output: {entry.path} is {kind} where the frames of combination {index} go; "
                "remove it or choose another folder with -o"
            )
        if is_folder and not wants_folder:
            raise InvalidInputError(
                f"output: {entry.path} is a folder where a file of combination {index} goes; "
                "remove it or choose another folder with -o"
            )


def cmd_render(args: argparse.Namespace) -> int:
    from simian.assets.licenses import parse_allowed
    from simian.combine.sources import open_source, refuse_unlicensed
    from simian.combine.variants import video_keys
    from simian.recipe.assets import AssetResolver
    from simian.render import RenderSettings, ensure_writable_dir, parse_render_settings
    from simian.settings import load_settings
    from simian.settings.parameters import given_values

    config = load_settings()
    render_settings = parse_render_settings(**given_values(args, RenderSettings))
    source = open_source(args.seed, args.combinations, _combiner_options(args), render_settings.clip())
    start, end = (args.index, args.index + 1) if args.range is None else args.range
    if end > len(source):
        flag = "--index" if args.range is None else "--range"
        raise InvalidInputError(
            f"{flag}: {source.describe()} holds {len(source)} combinations, so indices must be below {len(source)}"
        )
    source.validate(start, end)  # a file: every entry of the range, before Blender starts
    resolver = AssetResolver(config)
    allowed = parse_allowed(args.licenses, "--licenses") if args.licenses is not None else None
    if allowed is not None:
        refuse_unlicensed(source, start, end, allowed, resolver)
    out_dir = Path(args.output)
    from simian.dataset.location import refuse_system_location

    refuse_system_location(out_dir, "--output", "folder")
    variants = args.camera_variants
    _check_output_targets(out_dir, start, end, render_settings, variants)
    ensure_writable_dir(out_dir)
    timeout = args.timeout if args.timeout is not None else config.simian_render_timeout_s
    began = time.perf_counter()
    count = (end - start) * variants
    keys = video_keys(start, end, variants)  # derived as the renders come, so any range starts at once
    failures = _render_all(source, keys, count, render_settings, out_dir, resolver, timeout, config.simian_cache_dir)
    elapsed = time.perf_counter() - began
    logger.info("%d rendered, %d failed, %.2f s per video, in %s", count - failures, failures, elapsed / count, out_dir)
    return 1 if failures else 0


def _render_all(
    source: CombinationSource,
    keys: Iterable[VideoKey],
    count: int,
    settings: RenderSettings,
    out_dir: Path,
    resolver: AssetResolver,
    timeout_s: float,
    cache_dir: Path,
) -> int:
    """Render and publish each key into `out_dir` (flat layout), one line per video; the number that failed."""
    from simian.dataset import FLAT, FolderSink
    from simian.orchestration.progress import progress_bar, progress_text
    from simian.render import Renderer, RenderError

    sink = FolderSink(out_dir, FLAT)
    failures = 0
    began = time.perf_counter()
    renderer = Renderer(timeout_s=timeout_s, cache_dir=cache_dir, resolve_assets=resolver)
    with renderer, progress_bar(count, "rendering") as advance:
        for n, key in enumerate(keys, 1):  # each combination derived when its turn comes
            try:
                combination = source.get(key.index, key.variant)
                result = renderer.render(combination, settings, out_dir)
            except (RenderError, SimianError) as exc:
                failures += 1
                logger.error("[%d/%d] %s", n, count, exc)
                advance()
                continue
            published = sink.publish(combination, settings, result, licenses=resolver.licenses(combination))
            logger.info(
                "[%d/%d] %s rendered in %.2f s (Blender %.2f s, %s); %s",
                n,
                count,
                out_dir / published.file_name,
                result.facts.total_seconds,
                result.facts.render_seconds,
                result.facts.device,
                progress_text(n, count, time.perf_counter() - began),
            )
            advance()
    return failures


def cmd_check(args: argparse.Namespace) -> int:
    """Verify every claim of the captions against Blender's projection of the planned scene."""
    from simian.render.blender.claim_check import check_combination
    from simian.render.outputs import rendered_outputs

    if (args.directory is None) == (args.seed is None):
        raise InvalidInputError("check: give a rendered output folder DIR, or --seed S --count N")
    if args.output is not None and not (args.pixels and args.seed is not None):
        raise InvalidInputError("check: --output keeps the renders of --pixels --seed S --count N; leave it out")
    reports: list[CombinationReport] = []
    if args.directory is not None:
        from simian.recipe.assets import AssetResolver, check_assets
        from simian.settings import load_settings

        outputs = rendered_outputs(Path(args.directory))
        if args.pixels:
            return _check_pixels(outputs)
        resolve = AssetResolver(load_settings())
        for output in outputs:
            check_assets(output.combination, str(output.sidecar))
            paths = resolve(output.combination)
            reports.append(check_combination(output.combination, output.settings, paths, output.caption))
    else:
        if args.count is None or args.count < 1:
            raise InvalidInputError("check: --count must be 1 or more with --seed")
        if args.pixels:
            return _render_and_check_pixels(args)
        from simian.render import RenderSettings, parse_render_settings
        from simian.settings.parameters import given_values

        settings = parse_render_settings(**{"device": "cpu", **given_values(args, RenderSettings)})
        from simian.orchestration.progress import progress_bar

        with progress_bar(args.count * args.camera_variants, "checking") as advance:
            for report in seed_reports(args.seed, args.count, _combiner_options(args), args.camera_variants, settings):
                reports.append(report)
                advance()
    total = verified = 0
    for report in reports:
        total += len(report.verdicts)
        verified += len(report.verdicts) - len(report.failures)
        for verdict in report.failures:
            claim = verdict.claim
            print(f"combination {report.label}: {claim.field}: {claim.kind} {claim.text!r}: {verdict.detail}")
    print(f"verified {verified} of {total} claims")
    return 0 if verified == total else 1


def cmd_gallery(args: argparse.Namespace) -> int:
    """A static HTML page to review a rendered dataset: videos, captions, recipe, ground truth, verdicts."""
    from simian.dataset.gallery import DEFAULT_FOLDER, build
    from simian.dataset.location import refuse_system_location

    dataset = Path(args.dataset)
    site = refuse_system_location(Path(args.output) if args.output else dataset / DEFAULT_FOLDER, "--output", "folder")
    began = time.perf_counter()
    index = build(dataset, site)
    print(f"wrote {index} in {time.perf_counter() - began:.1f} s; open {index.as_uri()} in a browser")
    return 0


def _check_pixels(outputs: list[RenderedOutput]) -> int:
    """Each named object judged from the rendered frames and their segmentation pass."""
    from simian.render.pass_arrays import pass_suffix
    from simian.render.pixel_truth import check_output

    total = recognised = 0
    for output in outputs:
        video = output.sidecar.with_suffix(".mp4")
        segmentation = output.sidecar.with_suffix(pass_suffix("segmentation"))
        if not video.is_file() or not segmentation.is_file():
            raise InvalidInputError(
                f"check --pixels: {output.sidecar}: needs {video.name} and {segmentation.name}; "
                "render with --passes segmentation (and without --images)"
            )
        for verdict in check_output(video, segmentation, output.combination):
            total += 1
            recognised += verdict.ok
            if not verdict.ok:
                print(
                    f"combination {output.combination.index}: object {verdict.index} {verdict.name!r} "
                    f"({verdict.asset}) cannot be named from the frames: {verdict.detail}"
                )
    print(f"{recognised} of {total} named objects recognisable from the frames")
    return 0 if recognised == total else 1


def _render_and_check_pixels(args: argparse.Namespace) -> int:
    """`check --pixels --seed S --count N`: render the drawn combinations with their segmentation pass (into a
    temporary folder), then judge each named object from the frames."""
    import tempfile

    from simian.combine.sources import open_source
    from simian.combine.variants import video_keys
    from simian.recipe.assets import AssetResolver
    from simian.render import RenderSettings, ensure_writable_dir, parse_render_settings
    from simian.render.outputs import rendered_outputs
    from simian.settings import load_settings
    from simian.settings.parameters import given_values

    config = load_settings()
    values = given_values(args, RenderSettings)
    if values.get("images"):
        raise InvalidInputError("check --pixels: judges videos; leave out --images")
    values["passes"] = (*values.get("passes", ()), "segmentation")
    settings = parse_render_settings(**values)
    source = open_source(args.seed, None, _combiner_options(args), settings.clip())
    keys = video_keys(0, args.count, args.camera_variants)
    count = args.count * args.camera_variants
    resolver = AssetResolver(config)
    kept = Path(args.output) if args.output is not None else None
    if kept is not None:
        from simian.dataset.location import refuse_system_location

        refuse_system_location(kept, "--output", "folder")
        if kept.exists() and (not kept.is_dir() or any(kept.iterdir())):
            raise InvalidInputError(f"--output: {kept} is not a new or empty folder; choose another")
        ensure_writable_dir(kept)
    with tempfile.TemporaryDirectory(prefix="simian-check-") as folder:
        out = kept or Path(folder)
        timeout = config.simian_render_timeout_s
        failures = _render_all(source, keys, count, settings, out, resolver, timeout, config.simian_cache_dir)
        status = _check_pixels(rendered_outputs(out))
    if failures:
        print(f"{failures} of {count} combinations failed to render (the log above says why)")
        return 1
    return status


def seed_reports(
    seed: int, count: int, options: CombinerOptions | None, variants: int, settings: RenderSettings
) -> Iterator[CombinationReport]:
    """Reports for combinations 0..count-1 drawn from `seed` (each under its `variants` camera moves), planned and
    checked for the clip of `settings`."""
    from simian.combine.combiner import combination_for
    from simian.render.blender.claim_check import check_combination

    for index in range(count):
        for variant in range(variants):
            yield check_combination(combination_for(seed, index, options, variant, settings.clip()), settings)


def _stack_config(args: argparse.Namespace) -> tuple[Settings, StackConfig]:
    from simian.operations.stack import StackConfig
    from simian.settings import load_settings

    settings = load_settings()
    workers = int(getattr(args, "workers", 1))
    return settings, StackConfig(
        state_dir=Path(args.state_dir or settings.simian_state_dir).resolve(),
        prefect_port=args.prefect_port or settings.simian_prefect_port,
        render_workers=workers,
        render_slots=int(getattr(args, "render_slots", None) or workers),
        commits_per_hour=int(getattr(args, "commits_per_hour", 100)),
    )


def cmd_init(args: argparse.Namespace) -> int:
    from simian.operations.bootstrap import init_prefect
    from simian.settings import load_settings

    init_prefect(load_settings(), render_slots=args.render_slots, commits_per_hour=args.commits_per_hour)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from simian.operations.stack import status, up

    settings, config = _stack_config(args)
    up(settings, config)
    for line in status(settings, config):
        print(line)
    print(
        f"\nReady. Try: prefect deployment run simian/render-range -p start=0 -p end=10 --watch\n"
        f"UI: {config.ui_url}   Stop everything with: simian down"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from simian.operations.stack import down

    _, config = _stack_config(args)
    stopped = down(config)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from simian.operations.stack import status

    settings, config = _stack_config(args)
    for line in status(settings, config):
        print(line)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Bring the local stack up and render a small range into ./dataset through Prefect."""
    import subprocess

    from simian.operations.stack import child_env, up
    from simian.orchestration.names import DEPLOYMENT_RANGE

    settings, config = _stack_config(args)
    up(settings, config)
    argv = [
        sys.executable,
        "-m",
        "prefect",
        "deployment",
        "run",
        DEPLOYMENT_RANGE,
        "-p",
        f"start={args.start}",
        "-p",
        f"end={args.end}",
        "-p",
        "width=320",
        "-p",
        "height=180",
        "-p",
        "frames=24",
        "-p",
        "samples=8",
        "-p",
        f"output={Path(args.output).resolve()}",
        "--watch",
    ]
    logger.info("running: prefect deployment run simian/render-range -p start=%d -p end=%d ...", args.start, args.end)
    result = subprocess.run(argv, env=child_env(config))
    if result.returncode == 0:
        print(
            f"\nDone: {args.end - args.start} videos with captions in {Path(args.output).resolve()}/data/. "
            f"Inspect the run at {config.ui_url}; stop the stack with `simian down`."
        )
    return result.returncode


def build_parser() -> argparse.ArgumentParser:
    from simian.render.render_settings import RenderSettings
    from simian.settings.parameters import add_flags

    parser = _Parser(prog="simian", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    combine = sub.add_parser("combine", help="draw scene recipes into a combinations file")
    combine.add_argument("--seed", type=int, required=True)
    combine.add_argument("--count", type=int, required=True)
    combine.add_argument("-o", "--output", default="combinations.json", help="file to write, or - for stdout")
    _add_combiner_flags(combine)
    add_flags(
        combine.add_argument_group("the clip the recipes are framed and captioned for (render them with the same)"),
        RenderSettings,
    )
    combine.set_defaults(func=cmd_combine)

    schema = sub.add_parser("schema", help="print the JSON Schema of a combination")
    schema.set_defaults(func=cmd_schema)

    presets = sub.add_parser("presets", help="list the clip presets (training formats) and where each shape comes from")
    presets.set_defaults(func=cmd_presets)

    render = sub.add_parser("render", help="render combinations into videos with caption sidecars")
    which = render.add_mutually_exclusive_group(required=True)
    which.add_argument("--index", type=_index, help="render this one combination")
    which.add_argument("--range", type=_index_range, help="render START:END (END exclusive) in one warm process")
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int, help="draw combination i from (seed, i)")
    source.add_argument("--combinations", help="a combinations file or http(s) URL")
    add_flags(render.add_argument_group("render settings"), RenderSettings)
    render.add_argument("--timeout", type=_seconds, default=None, help="seconds per combination before it is killed")
    render.add_argument(
        "--camera-variants",
        type=_camera_variants,
        default=1,
        metavar="N",
        help="render each scene under N camera moves (same objects, background, floor, lighting); variant v of "
        "scene i is OUT/<i>-v<v>.mp4, variant 0 the scene's own camera (default: 1)",
    )
    render.add_argument(
        "--licenses",
        default=None,
        metavar="IDS",
        help="allow only assets under these licences, comma-separated (e.g. cc0,cc-by-4.0; built-in assets are "
        "mit); scenes using others are refused before rendering, naming each asset",
    )
    render.add_argument("-o", "--output", required=True, help="output folder")
    _add_combiner_flags(render)
    render.set_defaults(func=cmd_render)

    check = sub.add_parser("check", help="verify every caption claim against Blender's projection of the scene")
    check.add_argument("directory", nargs="?", help="rendered outputs with their sidecars (or a dataset folder)")
    check.add_argument("--seed", type=int, help="check the plans of combinations drawn from this seed")
    check.add_argument("--count", type=int, help="how many combinations (0..N-1) with --seed")
    check.add_argument(
        "--pixels",
        action="store_true",
        help="judge each named object from the rendered frames and their segmentation pass (DIR: rendered with "
        "--passes segmentation; --seed S --count N: rendered first, into a temporary folder or --output)",
    )
    check.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="with --pixels --seed: keep the renders here (a new or empty folder) to look at what was judged",
    )
    check.add_argument(
        "--camera-variants",
        type=_camera_variants,
        default=1,
        metavar="N",
        help="with --seed: check each scene's N camera variants",
    )
    add_flags(check.add_argument_group("the clip to plan and check for (with --seed)"), RenderSettings)
    _add_combiner_flags(check)
    check.set_defaults(func=cmd_check)

    gallery = sub.add_parser("gallery", help="write a static HTML page to review a rendered dataset by eye")
    gallery.add_argument(
        "dataset", metavar="DATASET", help="a dataset folder or a render output folder (videos with their sidecars)"
    )
    gallery.add_argument(
        "-o", "--output", metavar="DIR", help="where to write index.html and its thumbnails (default: DATASET/gallery)"
    )
    gallery.set_defaults(func=cmd_gallery)

    init = sub.add_parser("init", help="create pools, concurrency limits, blocks and automations (idempotent)")
    init.add_argument("--render-slots", type=int, default=1, help="GPU render slots in the whole farm")
    init.add_argument(
        "--commits-per-hour",
        type=int,
        default=100,
        help="Hub commits per hour for the whole farm (the Hub allows about 128 per repo)",
    )
    init.set_defaults(func=cmd_init)

    for name, func, text in (
        ("up", cmd_up, "start local Redis, Prefect server and workers (what is not already running)"),
        ("down", cmd_down, "stop exactly what `simian up` started"),
        ("status", cmd_status, "show what runs and where the UI is"),
        ("demo", cmd_demo, "`up`, then render a small range into ./dataset through Prefect"),
    ):
        stack = sub.add_parser(name, help=text)
        stack.add_argument("--state-dir", default=None, help="where pids, logs and the database live (.simian)")
        stack.add_argument("--prefect-port", type=int, default=None, help="local Prefect server port (4200)")
        if name in ("up", "demo"):
            stack.add_argument("--workers", type=int, default=1, help="render workers to start on this machine")
            stack.add_argument("--render-slots", type=int, default=None, help="render slots (default: workers)")
            stack.add_argument("--commits-per-hour", type=int, default=100, help="Hub commit rate for the farm")
        if name == "demo":
            stack.add_argument("--start", type=int, default=0)
            stack.add_argument("--end", type=int, default=4)
            stack.add_argument("--output", default="dataset")
        stack.set_defaults(func=func)
    return parser


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    from simian.net.redact import RedactCredentials, redact_credentials

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactCredentials())  # credentials inside configured URLs never reach the log
    for client in ("httpx", "httpx2", "httpcore", "httpcore2", "huggingface_hub", "filelock"):
        # HTTP clients log each request (URL included) at INFO: shown only with -v.
        logging.getLogger(client).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args))
    except InvalidInputError as exc:
        for line in capped(str(exc).splitlines()):
            print(f"simian: error: {redact_credentials(line)}", file=sys.stderr)
        return 2
    except SimianError as exc:
        print(f"simian: error: {redact_credentials(str(exc))}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    try:
        return _run(argv)
    except KeyboardInterrupt:  # Ctrl-C: the render in progress is stopped and discarded (see Renderer)
        print("simian: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
