"""Run the real Pulumi program under Pulumi's mock runtime and capture every resource it registers.

No Pulumi CLI and no cloud are needed: `pulumi.runtime.set_mocks` stands in for the engine, and a
recording monitor keeps what the engine would receive (type, name, parent, inputs, dependencies,
provider, aliases, options). The offline plan, the tests and the offline policy run all use this.
Computed outputs that only a cloud can produce (ids, e-mails, the endpoint) get plausible mock values.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import gc
import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import known_types
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components import stacks
# Re-exported: the capture's callers load a stack and run it from one module.
from components.stacks import (PLATFORM_KEY, PROJECT, REPO, Stack, config_value, load_stack,  # noqa: F401
                               read_config_file)


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict
    outputs: dict
    dependencies: list[str]
    provider: str
    options: dict


@dataclass
class Capture:
    stack: str
    resources: list[Resource] = field(default_factory=list)  # sorted by URN once the run is over
    registered_outputs: set[str] = field(default_factory=set)
    stack_outputs: dict = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)  # (severity, message) the program logged

    @property
    def warnings(self) -> list[str]:
        return [message for severity, message in self.log if severity == "warning"]

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str, type_: Optional[str] = None) -> Resource:
        found = [r for r in self.resources if r.name == name and (type_ is None or r.type == type_)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r} (type {type_})")
        return found[0]

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def to_json(self) -> list[dict]:
        return [r.__dict__ for r in self.resources]


# Resources the program leaves unnamed so that Pulumi auto-names them (pulumi-gcp's provider/resources.go
# applies `SetAutonaming(255, "-")` to every resource with a string `name` input): the provider's Check
# fills `name` with "<logical name>-<7 random characters>" before the engine (and any analyzer) sees
# the inputs, and picks a new one on replacement.
AUTONAMED = {"gcp:container/nodePool:NodePool", "gcp:compute/reservation:Reservation", "gcp:filestore/instance:Instance"}


def autoname(type_: str, name: str) -> str:
    """A stable stand-in for the provider's random suffix, so captures and goldens do not churn."""
    return f"{name}-{hashlib.sha256(f'{type_}::{name}'.encode()).hexdigest()[:7]}"


def checked_inputs(type_: str, name: str, inputs: dict) -> dict:
    """The inputs as the provider's Check returns them (what the engine stores and analyzers get)."""
    if type_ in AUTONAMED and not inputs.get("name"):
        return {**inputs, "name": autoname(type_, name)}
    return inputs


MOCK_NAT_ADDRESS = "198.51.100.7"  # what a mocked manager reserves, and what a mocked worker reads back


def _mock_outputs(type_: str, name: str, inputs: dict, project: str) -> dict:
    """Values the cloud would compute that the program reads back."""
    out = dict(checked_inputs(type_, name, inputs))
    if type_ == "gcp:serviceaccount/account:Account":
        out["email"] = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
        out["name"] = f"projects/{project}/serviceAccounts/{out['email']}"
    elif type_ == "gcp:container/cluster:Cluster":
        out["endpoint"] = "203.0.113.10"
        private = dict(inputs.get("privateClusterConfig") or {})
        out["privateClusterConfig"] = {**private, "privateEndpoint": "172.16.0.34", "publicEndpoint": "203.0.113.10"}
        if private.get("enablePrivateEndpoint"):
            out["endpoint"] = out["privateClusterConfig"]["privateEndpoint"]
        out["masterAuth"] = {"clusterCaCertificate": "bW9jay1jYQ=="}  # base64("mock-ca")
    elif type_ == "gcp:compute/network:Network":
        out["selfLink"] = f"projects/{project}/global/networks/{inputs.get('name', name)}"
    elif type_ == "gcp:filestore/instance:Instance":
        # Filestore assigns the share an address from the range it reserves in the peered VPC.
        out["networks"] = [{**net, "ipAddresses": ["10.128.64.2"]} for net in inputs.get("networks", [])]
    elif type_ == "gcp:projects/serviceIdentity:ServiceIdentity":
        out["email"] = "service-123456789012@container-engine-robot.iam.gserviceaccount.com"
        out["member"] = f"serviceAccount:{out['email']}"
    elif type_ == "pulumi:pulumi:StackReference":  # fleet stacks read each other's exports
        from components.gcp.fleet import NAT_OUTPUT
        from components.kubernetes.fleet_layer import KUBECONFIG_OUTPUT

        out["outputs"] = {KUBECONFIG_OUTPUT: f"# kubeconfig exported by stack {inputs.get('name')}\n",
                          NAT_OUTPUT: [f"{MOCK_NAT_ADDRESS}/32"]}
    elif type_ == "kubernetes:core/v1:Secret" and inputs.get("type") == "kubernetes.io/service-account-token":
        # The token controller fills it and pulumi-kubernetes waits for that (its Secret awaiter), so the
        # created Secret's outputs carry the token (components/kubernetes/fleet_layer.py).
        out["data"] = {"token": base64.b64encode(b"mock-token").decode(), "ca.crt": "bW9jay1jYQ=="}
    elif type_ == "gcp:compute/address:Address":  # a fleet manager's reserved NAT addresses: the first, then .8, ...
        extra = re.search(r"-(\d+)$", name)
        out["address"] = MOCK_NAT_ADDRESS if not extra else MOCK_NAT_ADDRESS.rsplit(".", 1)[0] + f".{6 + int(extra[1])}"
        out["selfLink"] = f"projects/{project}/regions/{inputs.get('region')}/addresses/{inputs.get('name', name)}"
    elif type_ == "random:index/randomPassword:RandomPassword":
        out["result"] = "mock-password"
    elif type_ == "gcp:compute/subnetwork:Subnetwork":
        out["selfLink"] = f"projects/{project}/regions/{inputs.get('region')}/subnetworks/{inputs.get('name', name)}"
    return out


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, project: str, preview: bool = False):
        self.project = project
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if self.preview:
            # A preview of a new stack: nothing exists yet, so the cloud has computed no output; only what
            # the provider's Check fills in (auto-names) is known. Every other output is unknown, including
            # an input the cloud completes (a Filestore instance's networks gain their IP addresses).
            known = checked_inputs(args.typ, args.name, args.inputs)
            computed = _mock_outputs(args.typ, args.name, args.inputs, self.project)
            return "", {k: (v if computed.get(k) == v else rpc.UNKNOWN) for k, v in known.items()}
        return f"{args.name}-id", _mock_outputs(args.typ, args.name, args.inputs, self.project)

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "gcp:organizations/getProject:getProject":  # the project number (hardening.py)
            return {"projectId": self.project, "number": "123456789012"}
        return {}


class _EngineLog:
    """Stands in for the logger of Pulumi's mock engine: what the program logs (pulumi.log.warn) is kept
    on the capture, so the command prints each message once, where it belongs in its output."""

    def __init__(self, capture: Capture):
        self.capture = capture

    def debug(self, message: str) -> None:
        pass

    def info(self, message: str) -> None:
        self.capture.log.append(("info", message))

    def warning(self, message: str) -> None:
        self.capture.log.append(("warning", message))

    def error(self, message: str) -> None:
        self.capture.log.append(("error", message))


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _Mocks, capture: Capture):
        super().__init__(mocks)
        self.capture = capture

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = checked_inputs(request.type, request.name, rpc.deserialize_properties(request.object))
        self.capture.resources.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                inputs=_plain(inputs),
                outputs=_plain(self.resources[response.urn].state),
                dependencies=sorted(set(request.dependencies)),
                provider=request.provider,
                options={
                    # A remote component (e.g. helm.v4.Chart) is built by its provider's Construct, not by the
                    # engine's step generator: analyzers never see these inputs (policies/runner.py).
                    "remote": bool(request.remote),
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "aliases": [_alias(a) for a in request.aliases],
                    "protect": bool(request.protect),
                    "ignoreChanges": list(request.ignoreChanges),
                    "replaceOnChanges": list(request.replaceOnChanges),
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "customTimeouts": {
                        k: getattr(request.customTimeouts, k) for k in ("create", "update", "delete")
                        if getattr(request.customTimeouts, k)
                    },
                },
            )
        )
        return response

    def RegisterResourceOutputs(self, request):
        self.capture.registered_outputs.add(request.urn)
        return super().RegisterResourceOutputs(request)


def _alias(alias) -> dict:
    spec = alias.spec
    return {k: getattr(spec, k) for k in ("name", "type", "stack", "project", "parentUrn") if getattr(spec, k)} | (
        {"noParent": True} if spec.noParent else {}
    )


def _plain(value: Any) -> Any:
    """JSON-friendly copy: resource references become their URN, unknowns become a marker."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value["value"])  # a secret input: keep its value (mock values only)
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Unknown):
        return rpc.UNKNOWN  # what the engine sends for a value unknown during preview
    if isinstance(value, pulumi.Resource):
        return {"$ref": getattr(value, "_name", str(value))}
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; quotas and node counts are integers
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def run(
    program: Callable[[], None],
    config: dict[str, Any],
    stack: str = "dev",
    capture: Optional[Capture] = None,
    preview: bool = False,
) -> Capture:
    """Run `program` once under mocks with `config` (Pulumi.<stack>.yaml's `config:` map).

    Pass your own `capture` to inspect what was registered even when the program raises. `preview=True`
    runs it as the first `pulumi preview` of a new stack: cloud-computed outputs (ids, e-mails, the
    endpoint) are unknown, and so is every input derived from them (recorded as the wire's UNKNOWN).
    """
    capture = capture if capture is not None else Capture(stack=stack)
    platform_cfg = config.get(PLATFORM_KEY)
    project = platform_cfg.get("project", "project") if isinstance(platform_cfg, dict) else "project"
    mocks = _Mocks(project, preview)
    # `key: {secure: ...}` is what `pulumi config set --secret` writes; the program sees it as a secret key.
    secret_keys = [k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"}]
    pulumi.runtime.set_all_config({k: config_value(v) for k, v in config.items()}, secret_keys)
    # set_mocks makes a new root Stack only when none is set: without this, a second run in one process (explain
    # of a manager plans its workers) parents its resources and exports to the first run's Stack.
    pulumi.runtime.settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview,
                             monitor=_RecordingMonitor(mocks, capture), logger=_EngineLog(capture))
    with _collector_paused(), _no_source_positions(), _unknowns_checked_without_closures(), _mock_calls_inline():
        _sync_await(run_pulumi_func(program))
        root = pulumi.runtime.get_root_resource()
        capture.stack_outputs = {k: _resolve(v) for k, v in getattr(root, "outputs", {}).items()}
    # Registration is asynchronous: its order changes from run to run, the URN order does not.
    capture.resources.sort(key=lambda r: r.urn)
    return capture


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The run builds a graph of long-lived objects (resources, outputs, futures) that Python's cyclic
    collector would re-scan over and over while it grows; they are freed together after the run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Inline(concurrent.futures.ThreadPoolExecutor):
    """Runs what it is given at once, in the calling thread (asyncio accepts only a ThreadPoolExecutor), with an
    event loop of its own as current, as a worker thread has: the mock monitor runs coroutines to completion
    (pulumi/runtime/mocks.py `_sync_await`), which must not pump the program's loop from inside one of its tasks."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.loop = asyncio.new_event_loop()

    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        running = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(self.loop)
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine, as a worker thread would
            future.set_exception(error)
        finally:
            asyncio.set_event_loop(running)
            asyncio.events._set_running_loop(running)
        return future


@contextmanager
def _mock_calls_inline() -> Iterator[None]:
    """The SDK sends each engine call (register, invoke, outputs) to the event loop's default thread pool,
    since a real engine answers over gRPC and may take its time. The mock monitor answers at once in Python,
    so the thread only costs a hand-over of the interpreter lock per call while the loop waits in `epoll`
    for the answer (330 teams: about a tenth of the mock run's CPU time). Under mocks the calls run where
    they are awaited, one after another as the loop reaches them."""
    loop = asyncio.get_event_loop()
    saved = loop._default_executor
    inline = _Inline()
    loop.set_default_executor(inline)
    try:
        yield
    finally:
        loop._default_executor = saved
        inline.loop.close()


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """The SDK walks the whole Python stack for every resource it registers (pulumi/runtime/resource.py
    `_get_stack_trace`, `traceback.extract_stack()`) to send its source position, which the capture does not
    record; under mocks it gets the empty trace the SDK itself sends when it finds no user frame
    (200 teams: 13 % of the plan's CPU)."""
    saved = getattr(pulumi_resource, "_get_stack_trace", None)
    if saved is not None:
        pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        if saved is not None:
            pulumi_resource._get_stack_trace = saved


@contextmanager
def _unknowns_checked_without_closures() -> Iterator[None]:
    """The SDK checks values for unknowns (pulumi/runtime/rpc.py `contains_unknowns`, every other SDK module
    calls it through rpc) with a recursive closure made per call: a function/cell cycle that only the
    paused collector could free (31 MiB of a 100-team run's 220). The same predicate without one."""
    saved = getattr(rpc, "contains_unknowns", None)
    if saved is not None:
        rpc.contains_unknowns = _contains_unknowns
    try:
        yield
    finally:
        if saved is not None:
            rpc.contains_unknowns = saved


def _contains_unknowns(val: Any) -> bool:
    """Whether an unknown is reachable from val through dicts and lists (each container visited once)."""
    seen: set[int] = set()
    pending = [val]
    while pending:
        value = pending.pop()
        if known_types.is_unknown(value):
            return True
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            pending.extend(value[key] for key in value)  # as the SDK reads them (typed args subclass dict)
        elif isinstance(value, list):
            pending.extend(value)
    return False


def _resolve(value: Any) -> Any:
    return _plain(_sync_await(pulumi.Output.from_input(value).future()))


def run_stack(stack: str | Stack = "dev", config: Optional[dict[str, Any]] = None, capture: Optional[Capture] = None,
              preview: bool = False) -> Capture:
    """The real program under mocks for a stack (a name, read from its file, or a loaded Stack) or `config`."""
    from components.platform import build_platform

    if isinstance(stack, Stack):
        stack, config = stack.name, stack.config
    return run(build_platform, stacks.stack_config(stack) if config is None else config, stack, capture, preview)
