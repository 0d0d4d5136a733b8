"""The compiled schema check (jsonschema-rs) may skip jsonschema only where jsonschema finds no problem.

components/kubernetes/manifest_schema.py runs jsonschema (whose messages users read) only for objects the
compiled copy rejects, so a compiled copy more lenient than jsonschema would let an invalid object through
silently. Both are held to the same verdict on every object the validation tests check (most of them
invalid), on mutations of every kind of object the shipped stacks render, and on values only one of the two
libraries accepts as JSON.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

import test_manifest_validation
from components.kubernetes import crd_validation, manifest_schema, manifest_validation, multikueue, render
from components.kubernetes.manifest_schema import Schema, _plain, compile_schema
from components.stacks import load_stack
from conftest import FLEET_STACKS, STACKS

Pair = tuple[Schema, Any]


def assert_same_verdict(schema: Schema, instance: Any) -> bool:
    """Whether jsonschema finds a problem in instance, after checking the compiled check agrees: it never
    passes what jsonschema rejects and, for plain JSON, never rejects what jsonschema passes (that would only
    cost time, but would mean the two read the schema differently)."""
    has_problem = next(iter(schema.validator.iter_errors(instance)), None) is not None
    if schema.is_surely_valid(instance):
        assert not has_problem, f"compiled check passed what jsonschema rejects: {instance!r:.300}"
    else:
        assert has_problem or not _plain(instance), f"compiled check rejected a valid object: {instance!r:.300}"
    return has_problem


# --- the validation tests' objects -----------------------------------------------------------------


def recorded_pairs(monkeypatch: pytest.MonkeyPatch) -> list[Pair]:
    """Every (schema, instance) the validation tests hand to the schema check, recorded as it happens."""
    pairs: list[Pair] = []
    real = manifest_schema.schema_errors

    def recording(schema: Schema, instance: Any) -> list:
        pairs.append((schema, copy.deepcopy(instance)))
        return real(schema, instance)

    # CRD objects reach it from crd_validation, built-in kinds through manifest_schema.schema_problems.
    for module in (crd_validation, manifest_schema):
        monkeypatch.setattr(module, "schema_errors", recording)
    for name, test in inspect.getmembers(test_manifest_validation, inspect.isfunction):
        if name.startswith("test_") and not inspect.signature(test).parameters:
            test()
    for obj in test_manifest_validation.VALID_KUEUE_AND_JOBSET + test_manifest_validation.VALID_BUILTINS:
        manifest_validation.problems(obj)
    return pairs


def test_the_validation_tests_objects_get_the_same_verdict(monkeypatch):
    pairs = recorded_pairs(monkeypatch)
    invalid = sum(assert_same_verdict(schema, instance) for schema, instance in pairs)
    assert len(pairs) > 40 and invalid >= 10, (len(pairs), invalid)  # the others fail CEL or webhooks


# --- mutations of every rendered kind ---------------------------------------------------------------


def rendered_objects() -> list[dict]:
    objs = []
    for stack in STACKS + FLEET_STACKS:
        platform = load_stack(stack).platform
        objs += render.planned_manifests(platform).all()  # what the plan's validation checks
        objs += multikueue.fleet_objects(platform, multikueue.stand_in_kubeconfigs(platform))
    return objs


def schema_and_instance(obj: dict) -> Pair | None:
    """What the validator hands the schema check for obj (CRDs: after structural defaulting)."""
    group, _, version = obj["apiVersion"].rpartition("/")
    if group in crd_validation.CRD_GROUPS:
        crd = crd_validation.vendored_crd(group, version, obj["kind"])
        return crd and (crd.schema_check, crd_validation._with_defaults(obj, crd.schema))
    schema = manifest_validation._builtin_schema(obj["apiVersion"], obj["kind"])
    return schema and (schema, obj)


def nodes(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*path, index))


REPLACEMENTS = (1, -1, 2.5, "x", "", True, None, [], {}, ["a", "a"], [{"name": "a"}, {"name": "a"}], "é" * 300,
                float("nan"), ("a",), {1: "a"})


def mutants(obj: dict, per_object: int = 25) -> Iterator[dict]:
    paths = [p for p in nodes(obj) if p and p[0] not in ("apiVersion", "kind")]
    for path in paths[:: max(1, len(paths) // per_object)]:
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        changes = [lambda p, k, v=v: p.__setitem__(k, copy.deepcopy(v)) for v in REPLACEMENTS]
        if isinstance(parent, dict):
            changes += [lambda p, k: p.pop(k), lambda p, k: p.__setitem__("unknownField", 1)]
        if isinstance(parent[last], list):
            changes += [lambda p, k: p[k].extend(p[k][:1]), lambda p, k: p.__setitem__(k, tuple(p[k]))]
        for change in changes:
            mutant = copy.deepcopy(obj)
            target = mutant
            for step in path[:-1]:
                target = target[step]
            change(target, last)
            yield mutant


def test_mutations_of_every_rendered_kind_get_the_same_verdict():
    first_of_kind: dict[tuple[str, str], dict] = {}
    for obj in rendered_objects():
        first_of_kind.setdefault((obj["apiVersion"], obj["kind"]), obj)
    checked = invalid = 0
    for obj in first_of_kind.values():
        pair = schema_and_instance(obj)
        if pair is None:
            continue
        assert not assert_same_verdict(*pair), obj
        for mutant in mutants(obj):
            schema, instance = schema_and_instance(mutant)
            invalid += assert_same_verdict(schema, instance)
            checked += 1
    assert checked > 1000 and invalid > checked // 3, (checked, invalid)


# --- values only one library takes as JSON ----------------------------------------------------------


@pytest.mark.parametrize(("schema", "value", "plain"), [
    ({"type": "array"}, ("a",), ["a"]),  # jsonschema-rs reads a tuple as an array, jsonschema does not
    ({"type": "number"}, float("nan"), 2.5),
    ({"type": "number"}, float("inf"), 2.5),
    ({"type": "integer"}, 1 << 64, (1 << 64) - 1),
    ({"type": "string"}, "\ud800", "\u00e9"),
    ({"type": "object"}, {1: "a"}, {"1": "a"}),
    ({"type": "string"}, type("Text", (str,), {})("a"), "a"),
], ids=["tuple", "nan", "inf", "int-over-64-bits", "lone-surrogate", "int-key", "str-subclass"])
def test_values_outside_plain_json_are_left_to_jsonschema(schema, value, plain):
    checked = compile_schema(jsonschema.Draft202012Validator(schema))
    assert not checked.is_surely_valid(value)
    assert checked.is_surely_valid(plain)
