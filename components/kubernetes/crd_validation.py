"""Kueue, JobSet, Prometheus-operator and Argo Workflows custom resources checked the way the API server and Kueue's
webhooks would: structural defaults, the vendored CRD schema (closed to unknown fields), the CRD's CEL
rules, then the webhook-only ClusterQueue/Cohort checks."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import regex
from jsonschema.protocols import Validator

from . import cel
from .kueue_webhooks import cluster_queue_webhook_problems, quota_webhook_problems
from .manifest_schema import (CEL_NOT_CHECKED, FieldPath, Schema, blocks_rules, compile_schema, error_problems,
                              object_metadata, schema_errors)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "platform" / "schemas"
CRD_GROUPS = frozenset({"kueue.x-k8s.io", "jobset.x-k8s.io", "monitoring.coreos.com", "argoproj.io"})
_OLD_SELF = re.compile(r"\boldSelf\b")
_ITEMS, _VALUES = "[]", "{}"  # schema-location steps for array items and map values


@dataclass(frozen=True)
class _Rule:
    location: tuple[str, ...]  # property names, _ITEMS or _VALUES
    program: celpy.Runner
    text: str
    message: str
    fields: cel.SelfFields | None  # what of `self` the rule can observe (None: all of it)


@dataclass(frozen=True)
class _Crd:
    namespaced: bool
    schema: dict
    schema_check: Schema
    rules: tuple[_Rule, ...]


def custom_resource_problems(obj: dict, group: str, version: str) -> Iterator[tuple[FieldPath, str]]:
    if is_kueue_v1beta1(group, version):
        yield ("apiVersion",), ("kueue.x-k8s.io/v1beta1 is deprecated and served only through a conversion "
                                "webhook: use kueue.x-k8s.io/v1beta2")
        return
    crd = vendored_crd(group, version, obj["kind"])
    if crd is None:
        known = sorted(f"{g}/{v}" for g, v, k in _crd_index() if g == group and k == obj["kind"])
        yield ("apiVersion",), (f"no vendored schema for {obj['kind']} in {obj['apiVersion']} "
                                f"(known apiVersions for this kind: {known or 'none'})")
        return
    yield from _scope_problems(obj, crd.namespaced)
    defaulted = _with_defaults(obj, crd.schema)
    errors = schema_errors(crd.schema_check, defaulted)
    yield from error_problems(errors)
    if blocks_rules(errors):
        # The API server stops here, and so do we: a rule run on the wrong shape can cost without bound
        # (cel-python's all() over a 300-character string built error texts of gigabytes).
        yield (), CEL_NOT_CHECKED
        return
    yield from _cel_problems(defaulted, crd.rules)
    spec = defaulted.get("spec")
    if group == "kueue.x-k8s.io" and isinstance(spec, dict):
        if obj["kind"] == "ClusterQueue":
            yield from cluster_queue_webhook_problems(spec)
        elif obj["kind"] == "Cohort":
            yield from quota_webhook_problems(spec, has_parent=bool(spec.get("parentName")), is_cohort=True)


def is_kueue_v1beta1(group: str, version: str) -> bool:
    return group == "kueue.x-k8s.io" and version == "v1beta1"


def _scope_problems(obj: dict, namespaced: bool) -> Iterator[tuple[FieldPath, str]]:
    has_namespace = bool(object_metadata(obj).get("namespace"))
    if namespaced and not has_namespace:
        yield ("metadata", "namespace"), f"Required value: {obj['kind']} is namespaced"
    elif not namespaced and has_namespace:
        yield ("metadata", "namespace"), f"Forbidden: {obj['kind']} is cluster-scoped"


@functools.cache
def _crd_index() -> dict[tuple[str, str, str], dict]:
    entries = json.loads((SCHEMA_DIR / "index.json").read_text())["schemas"]
    return {(e["group"], e["version"], e["kind"]): e for e in entries}


@functools.cache
def vendored_crd(group: str, version: str, kind: str) -> _Crd | None:
    entry = _crd_index().get((group, version, kind))
    if entry is None:
        return None
    schema = _closed(json.loads((SCHEMA_DIR / entry["file"]).read_text()))
    return _Crd(
        namespaced=entry["scope"] == "Namespaced",
        schema=schema,
        schema_check=compile_schema(_CrdValidator(schema)),
        rules=tuple(_collect_rules(schema, ())),
    )


def _closed(node: Any) -> Any:
    """Copy of a structural schema in which objects reject the fields the API server would prune."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _closed(value) for key, value in node.items()}
    if out.get("x-kubernetes-int-or-string") and "anyOf" not in out:
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def _with_defaults(obj: dict, schema: dict) -> dict:
    defaulted = copy.deepcopy(obj)
    _default(defaulted, schema)
    return defaulted


def _default(value: Any, schema: dict) -> None:
    """Structural defaulting as the API server does it: nulls pruned, absent fields defaulted, recursively."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(item, schema["items"])
    if not isinstance(value, dict):
        return
    properties = schema.get("properties", {})
    for key, sub in properties.items():
        if key in value and value[key] is None and not sub.get("nullable"):
            del value[key]
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
    extra = schema.get("additionalProperties")
    for key, child in value.items():
        sub = properties.get(key, extra)
        if isinstance(sub, dict):
            _default(child, sub)


@functools.cache
def _regex(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def _pattern(validator: Validator, pattern: str, instance: Any, _: dict) -> Iterator[jsonschema.ValidationError]:
    # Go RE2 accepts inline flags mid-pattern ("^(?i)..."); Python's re does not, the regex package does.
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _list_type(_: Validator, list_type: str, instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    """The API server rejects duplicates in "set" lists and duplicate keys in "map" lists."""
    if not isinstance(instance, list) or list_type not in ("set", "map"):
        return
    keys = schema.get("x-kubernetes-list-map-keys", [])
    seen: set[str] = set()
    for index, item in enumerate(instance):
        identity = ({k: item.get(k) for k in keys} if list_type == "map" and isinstance(item, dict) else item)
        token = json.dumps(identity, sort_keys=True, default=str)
        if token in seen:
            yield jsonschema.ValidationError(f"Duplicate value: {token}", path=[index])
        seen.add(token)


_CrdValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _pattern, "x-kubernetes-list-type": _list_type})


def _collect_rules(schema: dict, location: tuple[str, ...]) -> Iterator[_Rule]:
    for rule in schema.get("x-kubernetes-validations", []):
        if not _OLD_SELF.search(rule["rule"]):  # transition rules run only on update
            yield _Rule(location, cel.program(rule["rule"]), rule["rule"], rule.get("message") or rule["rule"],
                        cel.self_fields(rule["rule"]))
    for key, sub in schema.get("properties", {}).items():
        yield from _collect_rules(sub, (*location, key))
    if isinstance(schema.get("items"), dict):
        yield from _collect_rules(schema["items"], (*location, _ITEMS))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _collect_rules(schema["additionalProperties"], (*location, _VALUES))


def _cel_problems(obj: dict, rules: Iterable[_Rule]) -> Iterator[tuple[FieldPath, str]]:
    for rule in rules:
        for path, value in _locate(obj, rule.location, ()):
            # Only what the rule can observe: a ClusterQueue's spec rule reads resourceGroups and tests cohortName,
            # so teams' specs that differ elsewhere (their namespace selector) are evaluated once.
            value = rule.fields.projection(value) if rule.fields is not None else value
            try:
                key = json.dumps(value, sort_keys=True)
            except (TypeError, ValueError):  # not plain JSON: evaluated as is
                problem = _problem(rule, value)
            else:
                problem = _cached_problem(rule, key)
            if problem:
                yield path, problem


@functools.lru_cache(maxsize=1 << 16)
def _cached_problem(rule: _Rule, value_json: str) -> str | None:
    """A rule's verdict depends only on the value: teams' objects repeat the same values (quotas, flavors),
    so each distinct one is evaluated once (the evaluation is most of a large plan's validation)."""
    return _problem(rule, json.loads(value_json))


def _problem(rule: _Rule, value: Any) -> str | None:
    try:
        result = rule.program.evaluate({"self": celpy.json_to_cel(value)})
    except celpy.CELEvalError as error:
        result = error
    except (TypeError, ValueError) as error:  # cel-python 0.5 raises these for some type mismatches (a macro over an int)
        result = celpy.CELEvalError("no such overload", type(error), (str(error),))
    if isinstance(result, celpy.CELEvalError):
        return f"{rule.message} (rule {rule.text!r} failed to evaluate: {_error_text(result)})"
    if not (isinstance(result, celpy.celtypes.BoolType) and result):
        return rule.message
    return None


def _error_text(error: celpy.CELEvalError) -> str:
    return str(error.args[0]) if error.args else repr(error)


def _locate(value: Any, location: tuple[str, ...], path: FieldPath) -> Iterator[tuple[FieldPath, Any]]:
    """The values a schema location points at in one object (arrays and maps fan out)."""
    if not location:
        yield path, value
        return
    step, rest = location[0], location[1:]
    if step == _ITEMS and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _locate(item, rest, (*path, index))
    elif step == _VALUES and isinstance(value, dict):
        for key, item in value.items():
            yield from _locate(item, rest, (*path, key))
    elif isinstance(value, dict) and step in value:
        yield from _locate(value[step], rest, (*path, step))
