"""Offline validation of every Kubernetes object the program emits.

Kueue and JobSet custom resources are checked the way the API server and Kueue's webhooks would check
them: structural defaults, the vendored CRD schema (closed to unknown fields), the CRD's CEL rules and
the webhook-only ClusterQueue/Cohort checks. Built-in kinds are checked against the strict OpenAPI
schemas that kubernetes-validate ships. Kinds neither source knows are skipped; `is_validated` says which.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import regex
from jsonschema.protocols import Validator
from referencing import Registry, Resource

# Newest minor shipped by kubernetes-validate 1.37.0 that does not exceed the cluster version we target.
KUBERNETES_VERSION = "1.35"

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "platform" / "schemas"
CRD_GROUPS = frozenset({"kueue.x-k8s.io", "jobset.x-k8s.io", "monitoring.coreos.com"})

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_QUANTITY_SUFFIX = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
    "P": Decimal("1e15"), "E": Decimal("1e18"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
_OLD_SELF = re.compile(r"\boldSelf\b")
_ITEMS, _VALUES = "[]", "{}"  # schema-location steps for array items and map values
_MAX_VALUE = 200  # an echoed value longer than this is abbreviated; the reason never is

FieldPath = tuple[str | int, ...]


class ManifestError(Exception):
    """Every problem found in a set of manifests, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in Kubernetes manifests:\n" + "\n".join(self.problems))


# ---------------------------------------------------------------------------------------------------
# Public API


def problems(obj: dict) -> list[str]:
    """All problems of one manifest, each as "Kind/name: path: message"."""
    label = f"{obj.get('kind', '?')}/{_metadata(obj).get('name', '?')}"
    return [f"{label}: {_format_path(path)}: {message}" for path, message in _problems(obj)]


def validate_all(objs: Iterable[dict]) -> None:
    """Raise ManifestError listing every problem of every object; return None when all are valid."""
    found = [problem for obj in objs for problem in problems(obj)]
    if found:
        raise ManifestError(found)


def is_validated(obj: dict) -> bool:
    """Whether a schema was applied to obj (False for kinds that are skipped or rejected unchecked)."""
    group, version = _split_api_version(obj.get("apiVersion", ""))
    kind = obj.get("kind", "")
    if group in CRD_GROUPS:
        return not _is_kueue_v1beta1(group, version) and _crd(group, version, kind) is not None
    return _builtin_validator(obj.get("apiVersion", ""), kind) is not None


# ---------------------------------------------------------------------------------------------------
# Dispatch


def _problems(obj: dict) -> Iterator[tuple[FieldPath, str]]:
    if not obj.get("apiVersion") or not obj.get("kind"):
        yield (), "apiVersion and kind are required"
        return
    yield from _name_problems(obj)
    group, version = _split_api_version(obj["apiVersion"])
    if group in CRD_GROUPS:
        yield from _custom_resource_problems(obj, group, version)
    else:
        yield from _builtin_problems(obj)


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _metadata(obj: dict) -> dict:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _name_problems(obj: dict) -> Iterator[tuple[FieldPath, str]]:
    metadata = _metadata(obj)
    name = metadata.get("name")
    if not name or not isinstance(name, str):
        yield ("metadata", "name"), "Required value: every object needs an explicit name (a string)"
        return
    if obj["apiVersion"].startswith("rbac.authorization.k8s.io/"):
        # RBAC objects accept any path segment name (e.g. "system:metrics-reader").
        if name in (".", "..") or "/" in name or "%" in name:
            yield ("metadata", "name"), f"Invalid value {name!r}: may not be '.', '..' or contain '/' or '%'"
    elif obj["kind"] == "Namespace":
        yield from _dns_label_problems(("metadata", "name"), name)
    elif len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        yield ("metadata", "name"), (
            f"Invalid value {name!r}: must be a lowercase RFC 1123 subdomain (at most 253 characters of "
            "lower case alphanumerics, '-' or '.', starting and ending with an alphanumeric)")
    if "namespace" in metadata:
        yield from _dns_label_problems(("metadata", "namespace"), metadata["namespace"])


def _dns_label_problems(path: FieldPath, value: Any) -> Iterator[tuple[FieldPath, str]]:
    if not isinstance(value, str) or len(value) > 63 or not _DNS1123_LABEL.match(value):
        yield path, (f"Invalid value {value!r}: must be a lowercase RFC 1123 label (at most 63 characters of "
                     "lower case alphanumerics or '-', starting and ending with an alphanumeric)")


# ---------------------------------------------------------------------------------------------------
# Kueue and JobSet custom resources


@dataclass(frozen=True)
class _Rule:
    location: tuple[str, ...]  # property names, _ITEMS or _VALUES
    program: celpy.Runner
    text: str
    message: str


@dataclass(frozen=True)
class _Crd:
    namespaced: bool
    schema: dict
    validator: Validator
    rules: tuple[_Rule, ...]


def _custom_resource_problems(obj: dict, group: str, version: str) -> Iterator[tuple[FieldPath, str]]:
    if _is_kueue_v1beta1(group, version):
        yield ("apiVersion",), ("kueue.x-k8s.io/v1beta1 is deprecated and served only through a conversion "
                                "webhook: use kueue.x-k8s.io/v1beta2")
        return
    crd = _crd(group, version, obj["kind"])
    if crd is None:
        known = sorted(f"{g}/{v}" for g, v, k in _crd_index() if g == group and k == obj["kind"])
        yield ("apiVersion",), (f"no vendored schema for {obj['kind']} in {obj['apiVersion']} "
                                f"(known apiVersions for this kind: {known or 'none'})")
        return
    yield from _scope_problems(obj, crd.namespaced)
    defaulted = _with_defaults(obj, crd.schema)
    yield from _schema_problems(crd.validator, defaulted)
    yield from _cel_problems(defaulted, crd.rules)
    spec = defaulted.get("spec")
    if group == "kueue.x-k8s.io" and isinstance(spec, dict):
        if obj["kind"] == "ClusterQueue":
            yield from _cluster_queue_webhook_problems(spec)
        elif obj["kind"] == "Cohort":
            yield from _quota_webhook_problems(spec, has_parent=bool(spec.get("parentName")), is_cohort=True)


def _is_kueue_v1beta1(group: str, version: str) -> bool:
    return group == "kueue.x-k8s.io" and version == "v1beta1"


def _scope_problems(obj: dict, namespaced: bool) -> Iterator[tuple[FieldPath, str]]:
    has_namespace = bool(_metadata(obj).get("namespace"))
    if namespaced and not has_namespace:
        yield ("metadata", "namespace"), f"Required value: {obj['kind']} is namespaced"
    elif not namespaced and has_namespace:
        yield ("metadata", "namespace"), f"Forbidden: {obj['kind']} is cluster-scoped"


@functools.cache
def _crd_index() -> dict[tuple[str, str, str], dict]:
    entries = json.loads((SCHEMA_DIR / "index.json").read_text())["schemas"]
    return {(e["group"], e["version"], e["kind"]): e for e in entries}


@functools.cache
def _crd(group: str, version: str, kind: str) -> _Crd | None:
    entry = _crd_index().get((group, version, kind))
    if entry is None:
        return None
    schema = _closed(json.loads((SCHEMA_DIR / entry["file"]).read_text()))
    return _Crd(
        namespaced=entry["scope"] == "Namespaced",
        schema=schema,
        validator=_CrdValidator(schema),
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


def _schema_problems(validator: Validator, instance: dict) -> Iterator[tuple[FieldPath, str]]:
    for error in validator.iter_errors(instance):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and error.validator_value is False:
            known = error.schema.get("properties", {})
            for field in (key for key in error.instance if key not in known):
                yield (*path, field), "unknown field: not in the schema, the API server would drop it"
        elif error.validator == "anyOf" and error.schema.get("x-kubernetes-int-or-string"):
            yield path, f"Invalid value {_value(error.instance)}: must be an integer or a string"
        else:
            # The whole upstream reason; only an echoed value that is itself huge is abbreviated.
            yield path, error.message.replace(repr(error.instance), _value(error.instance))


def _collect_rules(schema: dict, location: tuple[str, ...]) -> Iterator[_Rule]:
    for rule in schema.get("x-kubernetes-validations", []):
        if not _OLD_SELF.search(rule["rule"]):  # transition rules run only on update
            yield _Rule(location, _program(rule["rule"]), rule["rule"], rule.get("message") or rule["rule"])
    for key, sub in schema.get("properties", {}).items():
        yield from _collect_rules(sub, (*location, key))
    if isinstance(schema.get("items"), dict):
        yield from _collect_rules(schema["items"], (*location, _ITEMS))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _collect_rules(schema["additionalProperties"], (*location, _VALUES))


@functools.cache
def _cel() -> celpy.Environment:
    return celpy.Environment()  # builds the CEL grammar (~0.2 s), so only when a rule is first needed


@functools.cache
def _program(rule: str) -> celpy.Runner:
    return _cel().program(_cel().compile(rule))


def _cel_problems(obj: dict, rules: Iterable[_Rule]) -> Iterator[tuple[FieldPath, str]]:
    for rule in rules:
        for path, value in _locate(obj, rule.location, ()):
            try:
                result = rule.program.evaluate({"self": celpy.json_to_cel(value)})
            except celpy.CELEvalError as error:
                result = error
            if isinstance(result, celpy.CELEvalError):
                yield path, f"{rule.message} (rule {rule.text!r} failed to evaluate: {_error_text(result)})"
            elif not (isinstance(result, celpy.celtypes.BoolType) and result):
                yield path, rule.message


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


# ---------------------------------------------------------------------------------------------------
# Kueue webhook-only checks (pkg/webhooks/clusterqueue_webhook.go, cohort_webhook.go)


def _cluster_queue_webhook_problems(spec: dict) -> Iterator[tuple[FieldPath, str]]:
    yield from _quota_webhook_problems(spec, has_parent=bool(spec.get("cohortName")), is_cohort=False)
    flavors = {f.get("name") for group in _dicts(spec.get("resourceGroups")) for f in _dicts(group.get("flavors"))}
    strategy = spec.get("admissionChecksStrategy")
    checks = strategy.get("admissionChecks") if isinstance(strategy, dict) else None
    for i, check in enumerate(_dicts(checks)):
        for j, flavor in enumerate(check.get("onFlavors") or []):
            if flavor not in flavors:
                yield (("spec", "admissionChecksStrategy", "admissionChecks", i, "onFlavors", j),
                       f"Unsupported value {flavor!r}: must be one of this ClusterQueue's flavors {sorted(flavors)}")


def _quota_webhook_problems(spec: dict, *, has_parent: bool, is_cohort: bool) -> Iterator[tuple[FieldPath, str]]:
    yield from _weight_problems(spec)
    seen_resources: set[str] = set()
    seen_flavors: set[str] = set()
    for g, group in enumerate(_dicts(spec.get("resourceGroups"))):
        base: FieldPath = ("spec", "resourceGroups", g)
        covered = group.get("coveredResources") if isinstance(group.get("coveredResources"), list) else []
        for i, name in enumerate(covered):
            if name in seen_resources:
                yield (*base, "coveredResources", i), f"Duplicate value: {name!r} is covered by another resource group"
            seen_resources.add(name)
        for j, flavor in enumerate(_dicts(group.get("flavors"))):
            name = flavor.get("name")
            if name in seen_flavors:
                yield (*base, "flavors", j, "name"), f"Duplicate value: {name!r} is in another resource group"
            seen_flavors.add(name)
            for i, quota in enumerate(_dicts(flavor.get("resources"))[:len(covered)]):
                path = (*base, "flavors", j, "resources", i)
                yield from _resource_quota_problems(quota, covered[i], path, has_parent=has_parent,
                                                    is_cohort=is_cohort)


def _resource_quota_problems(quota: dict, covered: str, path: FieldPath, *, has_parent: bool,
                             is_cohort: bool) -> Iterator[tuple[FieldPath, str]]:
    if quota.get("name") != covered:
        yield (*path, "name"), (f"Invalid value {quota.get('name')!r}: "
                                f"must match the name in coveredResources ({covered!r})")
    nominal = _quantity(quota.get("nominalQuota"))
    for field in ("nominalQuota", "borrowingLimit", "lendingLimit"):
        if field in quota and (amount := _quantity(quota[field])) is not None and amount < 0:
            yield (*path, field), f"Invalid value {quota[field]!r}: must be greater than or equal to 0"
    parent_word = "parent" if is_cohort else "cohort"
    # For a ClusterQueue the CRD's CEL rule already reports borrowingLimit without cohortName.
    limits = ("borrowingLimit", "lendingLimit") if is_cohort else ("lendingLimit",)
    for field in limits:
        if field in quota and not has_parent:
            yield (*path, field), f"Invalid value {quota[field]!r}: must be nil when {parent_word} is empty"
    lending = _quantity(quota.get("lendingLimit"))
    # Upstream enforces lendingLimit <= nominalQuota for ClusterQueues only.
    if not is_cohort and lending is not None and nominal is not None and lending > nominal:
        yield (*path, "lendingLimit"), (
            f"Invalid value {quota['lendingLimit']!r}: must be less than or equal to the nominalQuota "
            f"({quota.get('nominalQuota')!r})")


def _weight_problems(spec: dict) -> Iterator[tuple[FieldPath, str]]:
    fair_sharing = spec.get("fairSharing")
    weight = _quantity(fair_sharing.get("weight")) if isinstance(fair_sharing, dict) else None
    path: FieldPath = ("spec", "fairSharing", "weight")
    if weight is None:
        return
    if weight < 0:
        yield path, f"Invalid value {fair_sharing['weight']!r}: must be greater than or equal to 0"
    elif weight <= Decimal("1e-9") and weight != 0:
        yield path, f"Invalid value {fair_sharing['weight']!r}: When not 0, weight must be > 10e-9"


def _quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity ("20Gi", "500m", 4) as a Decimal; None if absent or malformed (the schema says so)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    match = _QUANTITY.match(str(value))
    if not match:
        return None
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _QUANTITY_SUFFIX[suffix]


def _dicts(value: Any) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------------
# Built-in kinds, against kubernetes-validate's strict schemas


_DROP_GROUP_DOMAIN = re.compile(r"^([^./]*)(?:\.[^/]*)?/")
_K8S_SCHEMAS = (resources.files("kubernetes_validate") / "kubernetes-json-schema"
                / f"v{KUBERNETES_VERSION}.0-local-strict")


def _builtin_problems(obj: dict) -> Iterator[tuple[FieldPath, str]]:
    validator = _builtin_validator(obj["apiVersion"], obj["kind"])
    if validator is not None:
        yield from _schema_problems(validator, obj)


@functools.cache
def _k8s_registry() -> Registry:
    definitions = json.loads((_K8S_SCHEMAS / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@functools.cache
def _builtin_validator(api_version: str, kind: str) -> Validator | None:
    """Validator for a built-in kind, or None where kubernetes-validate has no schema for it.

    kubernetes-validate's own validate() stops at the first error and re-reads its 1.5 MB definitions
    file on every call, so this builds a cached validator from the same files the same way.
    """
    # kubernetes-validate's file naming: rbac.authorization.k8s.io/v1 Role -> role-rbac-v1.json.
    group_version = _DROP_GROUP_DOMAIN.sub(r"\1-", api_version)
    file = _K8S_SCHEMAS / f"{kind.lower()}-{group_version}.json"
    if not file.is_file():
        return None
    schema = json.loads(file.read_text())
    group, version = _split_api_version(api_version)
    # The file name drops the group's domain, so a CRD like foo.example.com/v1 could alias a built-in.
    if {"group": group, "version": version, "kind": kind} not in schema.get("x-kubernetes-group-version-kind", []):
        return None
    return jsonschema.Draft202012Validator(schema, registry=_k8s_registry())


# ---------------------------------------------------------------------------------------------------
# Formatting


def _format_path(path: FieldPath) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", step):
            out += f".{step}" if out else step
        else:
            out += f"[{step!r}]"
    return out or "(root)"


def _value(instance: object) -> str:
    shown = repr(instance)
    return shown if len(shown) <= _MAX_VALUE else shown[:_MAX_VALUE] + "...(abbreviated)"
