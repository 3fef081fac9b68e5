"""Knobs defined once, in pydantic models, and derived everywhere else.

The command line's flags (`add_flags`) and a flow's typed signature with its documented
parameters (`flow_parameters`) are generated from the models' fields, so a new setting is a
new field and nothing more.
"""

from __future__ import annotations

import argparse
import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simian.errors import shorten

F = TypeVar("F", bound=Callable[..., Any])


def is_cli_only(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("cli_only"))


def unset_meaning(field: FieldInfo) -> str | None:
    """What leaving the field unset means, for fields the model fills itself (e.g. from a preset); else None."""
    extra = field.json_schema_extra
    meaning = extra.get("unset") if isinstance(extra, dict) else None
    return str(meaning) if meaning is not None else None


def _help(field: FieldInfo) -> str:
    text = (field.description or "").replace("%", "%%")
    meaning = unset_meaning(field)
    if meaning is not None:
        text += f" (unset: {meaning})"
    elif field.default is not None and not field.is_required():
        shown = ",".join(field.default) if isinstance(field.default, tuple | list) else field.default
        text += f" (default: {shown or 'none'})"
    return text


def _scalar(annotation: Any) -> Any:
    """`int | None` -> int; other annotations unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _choice_list(annotation: Any) -> tuple[str, ...] | None:
    """The choices of `tuple[Literal[...], ...]` or `list[Literal[...]]`; None for other annotations."""
    if typing.get_origin(annotation) not in (tuple, list):
        return None
    item = typing.get_args(annotation)[0]
    return tuple(typing.get_args(item)) if typing.get_origin(item) is Literal else None


def _comma_separated(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """`depth,segmentation` -> ("depth", "segmentation"); an empty value is the empty list."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"{shorten(', '.join(unknown), 80)!r} is not one of {', '.join(choices)} (comma-separated)"
            )
        return names

    return parse


def add_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, model: type[BaseModel]) -> None:
    """One `--flag` per field of `model`: type, choices and help from the field. Defaults are left to the
    model (argparse's default is None), so `given_values` can tell what the user set explicitly."""
    for name, field in model.model_fields.items():
        flag = "--" + name.replace("_", "-")
        annotation = _scalar(field.annotation)
        if annotation is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=_help(field))
        elif (listed := _choice_list(annotation)) is not None:
            parser.add_argument(
                flag,
                dest=name,
                type=_comma_separated(listed),
                default=None,
                metavar=",".join(listed),
                help=_help(field),
            )
        elif typing.get_origin(annotation) is Literal:
            choices = list(typing.get_args(annotation))
            parser.add_argument(flag, dest=name, choices=choices, default=None, help=_help(field))
        else:
            parser.add_argument(flag, dest=name, type=annotation, default=None, metavar=name.upper(), help=_help(field))


def given_values(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` the user set on the command line."""
    return {name: getattr(args, name) for name in model.model_fields if getattr(args, name, None) is not None}


def _as_parameter(field: FieldInfo) -> FieldInfo:
    """A field the model fills itself becomes an optional parameter left unset (None), saying what unset means;
    a default in the signature could not be told apart from a value the user chose."""
    meaning = unset_meaning(field)
    if meaning is None:
        return field
    return FieldInfo(
        annotation=typing.cast(Any, field.annotation) | None,
        default=None,
        description=f"{field.description} (unset: {meaning})",
    )


def _parameters(model: type[BaseModel], expand: dict[str, type[BaseModel]]) -> Iterable[tuple[str, FieldInfo]]:
    for name, field in model.model_fields.items():
        if name in expand:
            yield from _parameters(expand[name], {})
        elif not is_cli_only(field):
            yield name, _as_parameter(field)


def flat_fields(model: type[BaseModel], expand: dict[str, type[BaseModel]]) -> dict[str, FieldInfo]:
    """The model's fields with the nested models named in `expand` flattened into their own fields."""
    return dict(_parameters(model, expand))


def flow_parameters(model: type[BaseModel], expand: dict[str, type[BaseModel]]) -> Callable[[F], F]:
    """Give a `def f(**parameters)` flow function the typed, keyword-only signature of `model` (with the
    nested models in `expand` flattened) and an Args section documenting each parameter, which is what
    Prefect shows in its run form. Apply it below `@flow`."""

    def decorate(fn: F) -> F:
        params = []
        lines = []
        for name, field in flat_fields(model, expand).items():
            default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
            params.append(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=field.annotation)
            )
            lines.append(f"    {name}: {field.description or name}")
        returns = inspect.signature(fn).return_annotation
        fn.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
        fn.__doc__ = f"{inspect.cleandoc(fn.__doc__ or '')}\n\nArgs:\n" + "\n".join(lines)
        return fn

    return decorate
