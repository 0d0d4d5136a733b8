"""The config reference (docs/config-reference.md), generated from the typed schema so it cannot drift.

Every key of the `platform` block, nested keys by their dotted path (`[]` marks a list item), with its
type, default (or "required"), limits and description, read from `components/model/schema.py`.
Regenerate after a schema change:

    .venv/bin/python -m components.model.reference > docs/config-reference.md

tests/model/test_config_reference.py fails while the committed file differs from this output.
"""

from __future__ import annotations

import enum
import json
import sys
import types
import typing
from dataclasses import dataclass

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from . import schema
from .fleet_schema import STACK_NAME

REGENERATE = ".venv/bin/python -m components.model.reference > docs/config-reference.md"

# Patterns of the schema said in words (components/model/translate.py says the same to a user with an error).
_PATTERNS = {
    schema.DNS_LABEL: "a DNS label: lowercase letters, digits and '-', starting with a letter",
    schema.PROJECT_ID: "a GCP project id: 6-30 lowercase letters, digits and '-', starting with a letter",
    schema.REGION: "a region name such as asia-northeast1",
    schema.VERSION: "an exact version x.y.z",
    STACK_NAME: "a Pulumi stack name: letters, digits, '.', '_' and '-'",
}


@dataclass(frozen=True)
class Key:
    path: str
    type: str
    default: str
    limits: str
    description: str


def _unwrap(annotation) -> tuple[object, bool]:
    """(the annotation without Optional, whether None is allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _model_of(annotation) -> tuple[type[BaseModel] | None, bool]:
    """The nested model a key holds and whether it holds a list of them."""
    inner, _ = _unwrap(annotation)
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        item = typing.get_args(item)[0] if typing.get_origin(item) is typing.Annotated else item
        return (item, True) if isinstance(item, type) and issubclass(item, BaseModel) else (None, False)
    return (inner, False) if isinstance(inner, type) and issubclass(inner, BaseModel) else (None, False)


def _type(annotation, metadata: tuple = ()) -> str:
    if any(getattr(m, "func", None) is schema._cidr for m in metadata):
        return "CIDR block"
    inner, optional = _unwrap(annotation)
    origin = typing.get_origin(inner)
    if origin is typing.Annotated:
        text = _type(typing.get_args(inner)[0])
    elif origin is typing.Literal:
        text = "one of " + ", ".join(f"`{v}`" for v in typing.get_args(inner))
    elif origin is list:
        text = f"list of {_type(typing.get_args(inner)[0])}"
    elif origin is dict:
        text = "map of {} to {}".format(*(_type(arg) for arg in typing.get_args(inner)))
    elif isinstance(inner, type) and issubclass(inner, enum.Enum):
        text = "one of " + ", ".join(f"`{m.value}`" for m in inner)
    elif isinstance(inner, type) and issubclass(inner, BaseModel):
        text = "object"
    else:
        text = {str: "string", int: "integer", float: "number", bool: "boolean", typing.Any: "anything"}.get(inner, str(inner))
    return text + (" or unset" if optional else "")


def _scalar(value) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value)}`"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "the defaults below"
    if isinstance(value, list):
        return "`[]`" if not value else _scalar([_plain(v) for v in value])
    return _scalar(value)


def _plain(value):
    return value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value


def _limits(metadata: list, is_list: bool) -> str:
    out = []
    for item in metadata:
        for name, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if isinstance(item, getattr(annotated_types, name.capitalize())):
                out.append(f"{word} {getattr(item, name)}")
        unit = "item(s)" if is_list else "character(s)"
        if isinstance(item, annotated_types.MinLen):
            out.append(f"at least {item.min_length} {unit}")
        if isinstance(item, annotated_types.MaxLen):
            out.append(f"at most {item.max_length} {unit}")
        pattern = getattr(item, "pattern", None)
        if pattern:
            out.append(_PATTERNS.get(pattern, f"matches `{pattern}`"))
    return "; ".join(out)


def _field_limits(field: FieldInfo) -> list:
    metadata = list(field.metadata)
    inner, _ = _unwrap(field.annotation)
    if typing.get_origin(inner) is typing.Annotated:
        for extra in typing.get_args(inner)[1:]:
            metadata.extend(getattr(extra, "metadata", [extra]))
    return metadata


def _doc(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split()) if doc and not doc.startswith("Usage docs") else ""


def keys(model: type[BaseModel] = schema.Platform, prefix: str = "") -> list[Key]:
    """Every key under `model`, depth first, in the schema's order."""
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        nested, is_list = _model_of(field.annotation)
        description = field.description or (_doc(nested) if nested else "")
        inner, _ = _unwrap(field.annotation)
        metadata = _field_limits(field)
        out.append(Key(path, _type(field.annotation, tuple(metadata)), _default(field),
                       _limits(metadata, typing.get_origin(inner) is list), " ".join(description.split())))
        if nested:
            out.extend(keys(nested, f"{path}[]." if is_list else f"{path}."))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def render() -> str:
    """docs/config-reference.md, byte for byte."""
    all_keys = keys()
    top = [k for k in all_keys if "." not in k.path and "[]" not in k.path]
    nested = {k.path.split(".")[0].removesuffix("[]") for k in all_keys if "." in k.path}
    scalars = [k for k in top if k.path not in nested]
    lines = [
        "# Config reference: the `platform` block",
        "",
        "<!-- Generated by components/model/reference.py from components/model/schema.py; do not edit. -->",
        f"<!-- Regenerate: {REGENERATE} -->",
        "",
        "Every key of `<project>:platform` in `Pulumi.<stack>.yaml` (keys are camelCase as written there;",
        "unknown keys are errors). A nested key is written by its path: `cluster.systemPool.minNodes` is",
        "`minNodes` under `systemPool` under `cluster`; `[]` marks an item of a list. \"required\" keys have",
        "no default. The cross-field rules (quotas within capacity, cohorts, names, ranges) are in",
        "[design.md](design.md) and the checks under `components/model/checks*.py`; `make plan` reports",
        "every broken rule with its path and a fix.",
        "",
    ]
    lines += ["## Top-level keys", "", *_table(scalars)]
    for section in (k for k in top if k.path in nested):
        members = [k for k in all_keys if k.path == section.path or k.path.startswith(
            (f"{section.path}.", f"{section.path}[]."))]
        lines += [f"## `{section.path}`", ""]
        if section.description:
            lines += [section.description, ""]
        lines += _table(members)
    return "\n".join(lines)


def _table(rows: list[Key]) -> list[str]:
    return ["| Key | Type | Default | Limits | Description |", "|---|---|---|---|---|",
            *(f"| `{k.path}` | {_cell(k.type)} | {_cell(k.default)} | {_cell(k.limits)} | {_cell(k.description)} |"
              for k in rows), ""]


if __name__ == "__main__":
    sys.stdout.write(render())
