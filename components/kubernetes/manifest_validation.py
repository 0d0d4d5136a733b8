"""Offline validation of every Kubernetes object the program emits.

Kueue and JobSet custom resources are checked the way the API server and Kueue's webhooks would check
them: structural defaults, the vendored CRD schema (closed to unknown fields), the CRD's CEL rules and
the webhook-only ClusterQueue/Cohort checks. Built-in kinds are checked against the strict OpenAPI
schemas that kubernetes-validate ships. Kinds neither source knows are skipped; `is_validated` says which.
The custom resources' checks live in crd_validation.py and kueue_webhooks.py.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource

from .crd_validation import CRD_GROUPS, custom_resource_problems, is_kueue_v1beta1, vendored_crd
from .manifest_schema import FieldPath, Schema, compile_schema, object_metadata, schema_problems

# Newest minor shipped by kubernetes-validate 1.37.0 that does not exceed the cluster version we target.
KUBERNETES_VERSION = "1.35"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ManifestError(Exception):
    """Every problem found in a set of manifests, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in Kubernetes manifests:\n" + "\n".join(self.problems))


# ---------------------------------------------------------------------------------------------------
# Public API


def problems(obj: dict) -> list[str]:
    """All problems of one manifest, each as "Kind/name: path: message"."""
    label = f"{obj.get('kind', '?')}/{object_metadata(obj).get('name', '?')}"
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
        return not is_kueue_v1beta1(group, version) and vendored_crd(group, version, kind) is not None
    return _builtin_schema(obj.get("apiVersion", ""), kind) is not None


# ---------------------------------------------------------------------------------------------------
# Dispatch


def _problems(obj: dict) -> Iterator[tuple[FieldPath, str]]:
    if not obj.get("apiVersion") or not obj.get("kind"):
        yield (), "apiVersion and kind are required"
        return
    yield from _name_problems(obj)
    group, version = _split_api_version(obj["apiVersion"])
    if group in CRD_GROUPS:
        yield from custom_resource_problems(obj, group, version)
    else:
        yield from _builtin_problems(obj)


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _name_problems(obj: dict) -> Iterator[tuple[FieldPath, str]]:
    metadata = object_metadata(obj)
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
# Built-in kinds, against kubernetes-validate's strict schemas


_DROP_GROUP_DOMAIN = re.compile(r"^([^./]*)(?:\.[^/]*)?/")
_K8S_SCHEMAS = (resources.files("kubernetes_validate") / "kubernetes-json-schema"
                / f"v{KUBERNETES_VERSION}.0-local-strict")


def _builtin_problems(obj: dict) -> Iterator[tuple[FieldPath, str]]:
    schema = _builtin_schema(obj["apiVersion"], obj["kind"])
    if schema is not None:
        yield from schema_problems(schema, obj)


@functools.cache
def _k8s_definitions() -> dict:
    return json.loads((_K8S_SCHEMAS / "_definitions.json").read_text())


@functools.cache
def _k8s_registry() -> Registry:
    return Resource.from_contents(_k8s_definitions()) @ Registry()


@functools.cache
def _k8s_compiled_registry() -> jsonschema_rs.Registry:
    definitions = _k8s_definitions()
    return jsonschema_rs.Registry([(definitions["$id"], definitions)])


@functools.cache
def _builtin_schema(api_version: str, kind: str) -> Schema | None:
    """Schema of a built-in kind, or None where kubernetes-validate has no schema for it.

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
    return compile_schema(jsonschema.Draft202012Validator(schema, registry=_k8s_registry()), _k8s_compiled_registry())


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
