"""What the manifest validators share: field paths, and jsonschema errors as (path, message) problems."""

from __future__ import annotations

from collections.abc import Iterator

from jsonschema.protocols import Validator

_MAX_VALUE = 200  # an echoed value longer than this is abbreviated; the reason never is

FieldPath = tuple[str | int, ...]


def object_metadata(obj: dict) -> dict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def schema_problems(validator: Validator, instance: dict) -> Iterator[tuple[FieldPath, str]]:
    for error in validator.iter_errors(instance):
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


def value_text(instance: object) -> str:
    shown = repr(instance)
    return shown if len(shown) <= _MAX_VALUE else shown[:_MAX_VALUE] + "...(abbreviated)"
