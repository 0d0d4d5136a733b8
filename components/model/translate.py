"""Pydantic's structural errors, translated into what the user should write.

No raw pattern, Python type name or pydantic wording reaches the user: each error type has its own
sentence, the field's expected form comes from `FIELD_HINTS` (keyed by the field's pattern), and the
fix carries an example that is valid for that field (tests apply it and re-validate).
"""

from __future__ import annotations

import difflib
import re
import typing
from enum import Enum
from typing import Any, Optional

from pydantic import BaseModel

from .errors import REMOVE, Issue, format_path
from .fleet_schema import STACK_NAME
from .schema import DNS_LABEL, PROJECT_ID, REGION, SCHEMA_VERSIONS, VERSION, Platform


MISSING = "required key is missing"
# Values valid for a missing key taken alone, offered in the fix (never a stack's own values: those live in stack files).
MISSING_EXAMPLES = {"project": "my-project-id", "namePrefix": "batch",
                    "subnetCidr": "10.0.0.0/22", "podsCidr": "10.64.0.0/14", "servicesCidr": "10.68.0.0/20",
                    "masterCidr": "172.16.0.16/28"}


def dns_label_example(value: str) -> Optional[str]:
    """The closest DNS label to what was written: 'Team_D' -> 'team-d'."""
    label = re.sub(r"[^a-z0-9-]+", "-", value.lower()).lstrip("-0123456789").rstrip("-")
    label = re.sub(r"-{2,}", "-", label)[:40].rstrip("-")
    return label or None


def _project(value: str) -> tuple[str, Optional[str]]:
    if value.isdigit():
        return (f"{value!r} looks like a project number; the project ID goes here",
                None)
    fixed = dns_label_example(value)
    return ("a project ID is 6-30 characters: lowercase letters, digits and '-', starting with a letter",
            fixed if fixed and re.fullmatch(PROJECT_ID, fixed) else None)


def _region(value: str) -> tuple[str, Optional[str]]:
    zone = re.fullmatch(r"([a-z]+-[a-z]+[0-9]{1,2})-[a-z]", value)
    if zone:
        return f"{value!r} is a zone; the region is {zone.group(1)!r} (zones go under zones:)", zone.group(1)
    lower = value.strip().lower()
    return ("a region is written like asia-east1 or europe-west12",
            lower if re.fullmatch(REGION, lower) else None)


def _version(value: str) -> tuple[str, Optional[str]]:
    bare = value.strip().lstrip("vV")
    return ("an exact release version is written like 0.19.2 (no 'v', no range)",
            bare if re.fullmatch(VERSION, bare) else None)


def _dns_label(value: str) -> tuple[str, Optional[str]]:
    return ("names are lowercase letters, digits and '-', starting with a letter and not ending with '-'",
            dns_label_example(value))


# Each pattern of the schema, explained; value -> (what the field takes, a valid example or None).
FIELD_HINTS = {PROJECT_ID: _project, REGION: _region, VERSION: _version, DNS_LABEL: _dns_label}
FIXES_FOR_PATTERN = {
    PROJECT_ID: "write the project ID (`gcloud projects list` shows it), e.g. my-project-id",
    REGION: "write a region, e.g. asia-east1",
    VERSION: "write the version, e.g. 0.19.2",
    DNS_LABEL: "write e.g. team-a",
    STACK_NAME: "write the stack's name as `pulumi stack ls` shows it, e.g. fleet-worker-eu",
}


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / list[X] / Annotated[X, ...] -> the innermost X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, list, tuple) or str(origin) == "types.UnionType":
            args = [a for a in typing.get_args(annotation) if a is not type(None) and a is not Ellipsis]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _key(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].alias or name


def _field(model: type[BaseModel], key: str) -> Any:
    """The field a config key names, by its alias or its Python name; None if there is none."""
    by_key = {_key(model, n): f for n, f in model.model_fields.items()} | model.model_fields
    return by_key.get(key)


def models_along(loc: tuple) -> list[tuple[tuple, type[BaseModel]]]:
    """The models the loc passes through: [((), Platform), (('gpuPools', 1), GpuPool), ...]."""
    out = [((), Platform)]
    model: Any = Platform
    for i, part in enumerate(loc):
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = _field(model, part)
        if field is None:
            break
        model = _unwrap(field.annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            # Lists of models: the model lives at the index after the key.
            depth = i + 2 if i + 1 < len(loc) and isinstance(loc[i + 1], int) else i + 1
            out.append((loc[:depth], model))
    return out


def _field_annotation(loc: tuple) -> Any:
    *_, (model_loc, model) = models_along(loc[:-1]) if loc else [((), Platform)]
    rest = [p for p in loc[len(model_loc):] if isinstance(p, str)]
    if not rest:
        return None
    field = _field(model, rest[0])
    return _unwrap(field.annotation) if field else None


def _choices(loc: tuple) -> list[str]:
    annotation = _field_annotation(loc)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [m.value for m in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return []


# Words people use for a capacity type that GKE spells differently.
SYNONYMS = {"preemptible": "spot", "ondemand": "on-demand", "on_demand": "on-demand", "standard": "on-demand",
            "reservation": "reserved", "flex-start": "dws", "queued": "dws"}


def _closest(value: Any, choices: list[str]) -> Optional[str]:
    text = str(value).strip()
    for choice in choices:
        if choice.lower() == text.lower() or choice == SYNONYMS.get(text.lower()):
            return choice
    by_lower = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(text.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def _unknown_key(loc: tuple) -> Issue:
    key = str(loc[-1])
    path = format_path(loc)
    *_, (model_loc, model) = models_along(loc[:-1])
    known = [_key(model, n) for n in model.model_fields]
    near = _closest(key, known)
    if near:
        return Issue(path, f"unknown key {key!r}", f"did you mean {near!r}?", rename=near)
    # A key written one level too deep or too shallow: say where it belongs.
    for ancestor_loc, ancestor in reversed(models_along(loc[:-1])):
        keys = {_key(ancestor, n): n for n in ancestor.model_fields}
        if key in keys and ancestor is not model:
            return Issue(path, f"{key!r} does not belong here", f"move it to {format_path(ancestor_loc + (key,))}")
    for other_loc, other in models_along(loc[:-1]):
        for name, field in other.model_fields.items():
            inner = _unwrap(field.annotation)
            if isinstance(inner, type) and issubclass(inner, BaseModel) and key in {_key(inner, n) for n in inner.model_fields}:
                return Issue(path, f"{key!r} does not belong here",
                             f"it is a key of {format_path(other_loc + (_key(other, name),))}")
    return Issue(path, f"unknown key {key!r}", f"remove it; the keys here are: {', '.join(known)}", example=REMOVE)


def translate(error: dict) -> Issue:
    """One pydantic error (from ValidationError.errors()) as an Issue the user can act on."""
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))  # drop union tags
    path = format_path(loc)
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    shown = _shown(value)
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "missing":
        example = MISSING_EXAMPLES.get(str(loc[-1]))
        return Issue(path, MISSING, f"add {loc[-1]}: {example}" if example else f"add {loc[-1]} (see Pulumi.dev.yaml for an example)",
                     example=example)
    if kind in ("float_parsing", "float_type"):
        digits = re.match(r"\s*(\d+(\.\d+)?)", str(value))
        number = float(digits.group(1)) if digits else None
        return Issue(path, f"expected a number, got {shown}",
                     f"write {number:g}" if number is not None else "write a number without quotes or units, e.g. 100", example=number)
    if kind in ("int_parsing", "int_type", "int_from_float"):
        digits = re.match(r"\s*(\d+)", str(value))
        number = int(digits.group(1)) if digits and not isinstance(value, float) else None
        if isinstance(value, float) and value > 0:
            number = round(value)
        return Issue(path, f"expected a whole number, got {shown}",
                     f"write {number}" if number is not None else "write a number without quotes or units, e.g. 4", example=number)
    if kind in ("bool_parsing", "bool_type"):
        return Issue(path, f"expected true or false, got {shown}", "write true or false", example=True)
    if kind == "string_type":
        hint = " (quote it: YAML reads 0.19 as a number)" if isinstance(value, float) else ""
        return Issue(path, f"expected a text value, got {shown}", f"write a single value{hint}")
    if kind == "list_type":
        if isinstance(value, str):
            return Issue(path, f"expected a list, got {shown}", f"write it as a list: [{value}]", example=[value])
        return Issue(path, f"expected a list, got {shown}", "write a list, e.g. [a, b] or one '- item' per line")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Issue(path, f"expected a mapping of keys, got {shown}", "write key: value pairs under it (see Pulumi.dev.yaml)")
    if kind in ("greater_than_equal", "greater_than"):
        strict = kind == "greater_than"
        bound = ctx["gt"] if strict else ctx["ge"]
        # A stray minus sign is the usual cause: suggest the number without it when that is in range.
        flipped = -value if isinstance(value, (int, float)) else None
        ok = flipped is not None and (flipped > bound if strict else flipped >= bound)
        example = flipped if ok else (bound + 1 if strict else bound)
        limit = f"more than {bound:g}" if strict else f"at least {bound:g}"
        return Issue(path, f"must be {limit}, got {shown}", f"use {limit}, e.g. {example:g}", example=example)
    if kind in ("less_than_equal", "less_than"):
        strict = kind == "less_than"
        bound = ctx["lt"] if strict else ctx["le"]
        limit = f"less than {bound:g}" if strict else f"at most {bound:g}"
        example = bound - 1 if strict else bound
        return Issue(path, f"must be {limit}, got {shown}", f"use {limit}, e.g. {example:g}", example=example)
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return Issue(path, f"needs at least {n} entr{'y' if n == 1 else 'ies'}, got {ctx.get('actual_length', 0)}", "add one (see Pulumi.dev.yaml)")
    if kind == "too_long":
        return Issue(path, f"has {ctx.get('actual_length')} entries, at most {ctx.get('max_length')} are allowed", "remove some")
    if kind == "string_too_long":
        n = ctx.get("max_length")
        fixed = str(value)[:n].rstrip("-")
        return Issue(path, f"{shown} is {len(str(value))} characters, at most {n} are allowed", f"shorten it, e.g. {fixed}", example=fixed)
    if kind == "string_pattern_mismatch":
        hint = FIELD_HINTS.get(ctx.get("pattern"))
        what, example = hint(str(value)) if hint else ("not a valid value here", None)
        if ctx.get("pattern") == VERSION and example is None and loc[-1] in SCHEMA_VERSIONS:
            example = SCHEMA_VERSIONS[loc[-1]]  # the release whose schemas are vendored
        fix = f"write {example}" if example else FIXES_FOR_PATTERN.get(ctx.get("pattern"), "see Pulumi.dev.yaml")
        return Issue(path, f"{shown} is not valid: {what}", fix, example=example)
    if kind in ("enum", "literal_error"):
        choices = _choices(loc)
        near = _closest(value, choices)
        fix = f"write {near}" if near else f"use one of: {', '.join(choices)}"
        return Issue(path, f"{shown} is not one of {', '.join(choices)}", fix, example=near)
    if kind.startswith("platform_"):  # raised by the schema's own validators with a fix in ctx
        return Issue(path, error["msg"], ctx.get("fix", ""), example=ctx.get("example"))
    if kind == "value_error":  # a plain ValueError from a validator: its own sentence, without pydantic's prefix
        return Issue(path, error["msg"].removeprefix("Value error, "), "see the key's description in components/model/schema.py")
    return Issue(path, f"{shown} is not valid here", "compare with the same key in Pulumi.dev.yaml")
