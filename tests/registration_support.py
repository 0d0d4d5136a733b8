"""What the engine receives when a resource is registered: the RegisterResourceRequests of a small program.

components/kubernetes/resources.py `apply` and components/gcp/registration.py `register` send generic
CustomResources in place of the SDKs' typed classes; tests/kubernetes/test_kubernetes_registration.py and
tests/gcp/test_gcp_registration.py hold each to the typed class's request, field by field.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

# The options the platform's programs give these resources, all at once.
Make = Callable[[str, pulumi.ResourceOptions], Any]


class _Requests(pulumi_mocks.MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.requests = []

    def RegisterResource(self, request):
        self.requests.append(request)
        return super().RegisterResource(request)


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}


def requests_of(make: Make, provider: Callable[[str, pulumi.ResourceOptions], pulumi.ProviderResource]) -> list:
    """The requests of: a parent component, a provider, a resource to wait for, and `make("object", opts)` with
    a parent, that provider, depends_on, an alias, protect, retain-on-delete and replacement options."""
    monitor = _Requests(_Mocks())

    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        cloud = provider("cloud", pulumi.ResourceOptions(parent=parent))
        before = pulumi.CustomResource("test:index:Before", "before", {}, pulumi.ResourceOptions(parent=parent))
        make("object", pulumi.ResourceOptions(
            parent=parent, providers=[cloud], depends_on=[before], aliases=[pulumi.Alias(name="object-before-a-rename")],
            protect=True, retain_on_delete=True, replace_on_changes=["spec.clusterQueue"], delete_before_replace=True,
            additional_secret_outputs=["mine"]))

    pulumi.runtime.set_mocks(_Mocks(), project="p", stack="s", preview=False, monitor=monitor)
    pulumi.runtime.settings.set_root_resource(None)
    _sync_await(run_pulumi_func(program))
    requests = [r for r in monitor.requests if r.type != "pulumi:pulumi:Stack"]
    for request in requests:  # where in Python the resource was made: diagnostics only, and a different line
        request.ClearField("stackTrace")
        request.ClearField("sourcePosition")
    return requests


def snake(key: str) -> str:
    """A wire (camelCase) name as the SDKs' Python name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def snake_keys(value: Any) -> Any:
    """Every key of every nested object as its Python name: what a typed class translates back, so a wire name
    we misspelled comes out different from ours."""
    if isinstance(value, dict):
        return {snake(k): snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


@contextmanager
def calls_recorded(original: Callable, prefix: str = "components.") -> Iterator[list[tuple]]:
    """Every call of `original` (each module that imported it by name calls it through its own binding)."""
    calls: list[tuple] = []

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    bound = [(m, name) for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith(prefix)
             for name, value in list(vars(m).items()) if value is original]
    for module, name in bound:
        setattr(module, name, recording)
    try:
        yield calls
    finally:
        for module, name in bound:
            setattr(module, name, original)
