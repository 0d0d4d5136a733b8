"""What the manifest validators share: field paths, and jsonschema errors as (path, message) problems.

A schema is held twice (`Schema`): jsonschema reports every problem with the messages users read, and
jsonschema-rs, the same schema compiled, only answers "valid?", about twenty times faster. Most objects are
valid, so jsonschema runs only for the ones the compiled copy rejects. The compiled copy is never more
lenient: it sees only plain JSON (`_plain`), asserts no `format` (as jsonschema without a format checker),
and runs jsonschema's own Python function for `pattern` (Python's regex dialect, not Rust's) and for every
keyword a validator adds or overrides. tests/kubernetes/test_fast_schema_check.py holds the two to the same
verdict on every invalid object of the validation tests and on mutations of every rendered object.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable

import jsonschema
import jsonschema_rs
from jsonschema.protocols import Validator

_MAX_VALUE = 200  # an echoed value longer than this is abbreviated; the reason never is

FieldPath = tuple[str | int, ...]


def object_metadata(obj: dict) -> dict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


@dataclass(frozen=True)
class Schema:
    validator: Validator  # jsonschema: every problem, with its message
    compiled: jsonschema_rs.Validator  # the same schema compiled: valid or not

    def is_surely_valid(self, instance: Any) -> bool:
        """True only when jsonschema would find no problem either (False may still be valid)."""
        if not _plain(instance):
            return False
        try:
            return self.compiled.is_valid(instance)
        except ValueError:  # a value Rust cannot hold, e.g. a string with a lone surrogate
            return False


def compile_schema(validator: Validator, registry: jsonschema_rs.Registry | None = None) -> Schema:
    """`validator` plus its schema compiled by jsonschema-rs (`registry`: the documents its $refs name)."""
    own = type(validator).VALIDATORS
    python_keywords = {name: own[name] for name in own
                       if name == "pattern" or own[name] is not jsonschema.Draft202012Validator.VALIDATORS.get(name)}
    compiled = jsonschema_rs.Draft202012Validator(
        validator.schema, validate_formats=False, registry=registry,
        keywords={name: _keyword(validator, check) for name, check in python_keywords.items()})
    return Schema(validator, compiled)


def _keyword(validator: Validator, check: Callable) -> type:
    """A jsonschema keyword function as a jsonschema-rs custom keyword: the same function decides."""

    class Keyword:
        def __init__(self, parent_schema: dict, value: Any, _schema_path: list) -> None:
            self.parent_schema, self.value = parent_schema, value

        def validate(self, instance: Any) -> None:
            if next(iter(check(validator, self.value, instance, self.parent_schema)), None) is not None:
                raise ValueError(check.__name__)

    return Keyword


_PLAIN_SCALARS = (str, bool, type(None))


def _plain(value: Any) -> bool:
    """JSON as both libraries type it alike: exact dicts with str keys, lists (jsonschema-rs would take a tuple
    as an array, jsonschema does not), str, bool, None, 64-bit ints and finite floats (Rust's JSON numbers)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(map(_plain, value))
    if kind is int:
        return -(1 << 63) <= value < (1 << 64)
    if kind is float:
        return math.isfinite(value)
    return kind in _PLAIN_SCALARS


def schema_errors(schema: Schema, instance: dict) -> list[jsonschema.ValidationError]:
    """jsonschema's errors for instance; jsonschema is not asked when the compiled check passes it."""
    return [] if schema.is_surely_valid(instance) else list(schema.validator.iter_errors(instance))


def schema_problems(schema: Schema, instance: dict) -> Iterator[tuple[FieldPath, str]]:
    return error_problems(schema_errors(schema, instance))


def error_problems(errors: list[jsonschema.ValidationError]) -> Iterator[tuple[FieldPath, str]]:
    for error in errors:
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and error.validator_value is False:
            known = error.schema.get("properties", {})
            for field in (key for key in error.instance if key not in known):
                yield (*path, field), "unknown field: not in the schema, the API server would drop it"
        elif error.validator == "anyOf" and error.schema.get("x-kubernetes-int-or-string"):
            yield path, f"Invalid value {value_text(error.instance)}: must be an integer or a string"
        else:
            # The whole upstream reason; only an echoed value that is itself huge is abbreviated.
            yield path, error.message.replace(repr(error.instance), value_text(error.instance))


# What the API server counts as blocking: after a type, required, enum, maxLength, maxItems or maxProperties
# failure it evaluates none of the object's CEL rules (kubernetes apiextensions-apiserver
# pkg/registry/customresource/strategy.go `hasBlockingErr`: NotSupported, Required, TooLong, TooMany,
# TypeInvalid), since the rules were written for the schema's shape.
_BLOCKING = frozenset({"type", "required", "enum", "maxLength", "maxItems", "maxProperties"})
CEL_NOT_CHECKED = ("some validation rules were not checked because the object was invalid; correct the existing "
                   "errors to complete validation")


def blocks_rules(errors: list[jsonschema.ValidationError]) -> bool:
    """Whether an object with these schema errors (`schema_errors`) is one the API server evaluates no CEL rule of."""
    return any(error.validator in _BLOCKING
               or (error.validator == "anyOf" and error.schema.get("x-kubernetes-int-or-string"))
               for error in errors)


def value_text(instance: object) -> str:
    shown = repr(instance)
    return shown if len(shown) <= _MAX_VALUE else shown[:_MAX_VALUE] + "...(abbreviated)"
