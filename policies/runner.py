"""Run the policy pack without the Pulumi CLI: `python -m components.cli policy [stack] [--config-file F]`.

The real program runs under Pulumi's mocks (components.capture.run_stack) and every captured resource
is handed to the pack's policies the way the CLI's analyzer host (pulumi_policy's servicer) does it:

* resource properties travel as a protobuf Struct (so numbers become floats and secrets are unwrapped),
  are deserialized with the SDK's deserialize_properties and wrapped in its unknown-checking proxy;
* resource policies get a real ResourceValidationArgs per resource (inputs), stack policies one
  StackValidationArgs with PolicyResource objects (outputs, parents, dependencies) for the whole stack;
* each policy's config is built like the CLI's ReconcilePolicyPackConfig: schema defaults, then the
  optional --policy-config file (the format of `pulumi preview --policy-pack-config`), validated against
  the schema, then passed through a Struct like the Configure call;
* each policy's own `validate` is called (the function the servicer calls) with a recording
  report_violation; remediate levels count as mandatory, disabled policies are skipped.

Prints per policy PASS or its violations (policy name, enforcement level, URN, message) and exits 1 if
any mandatory violation was reported, 2 if the program itself rejected the config, 0 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from functools import cache
from inspect import isawaitable
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import jsonschema
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from components.model import ConfigError
from components.model.yaml_input import read_text
from components.capture import Capture, Resource, load_stack, run_stack

from .gpu_batch_policies import PACK_ENFORCEMENT, PACK_NAME, POLICIES

# Resource options the SDK sets by itself that the offline capture does not record. The Kubernetes SDK
# marks a Secret's data and stringData as secret outputs (pulumi_kubernetes/core/v1/Secret.py).
SDK_SECRET_OUTPUTS = {"kubernetes:core/v1:Secret": ["data", "stringData"]}
# The wire form of a secret value (pulumi sdk/go/common/resource/sig: signature key and secret signature).
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


# ---------------------------------------------------------------------------------------------------
# What the engine sends
#
# Two views of one capture. "program": every resource with the inputs the program registered. "engine":
# what the Pulumi CLI hands the analyzer, per pulumi/pulumi pkg/resource/deploy:
# * source_eval.go (resmon.RegisterResource): a remote component (`remote: true`, e.g. helm.v4.Chart, a
#   multi-language component of pulumi-kubernetes) is sent to the provider's Construct; "Remote components
#   don't go through the step generator", so the analyzer never sees the program's inputs. The provider
#   registers the component itself (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go Construct:
#   ctx.RegisterComponentResource(typ, name, comp, options), no properties) and then each rendered object
#   as its own resource (yaml/v2 Register), which the offline run cannot render without the chart archives.
# * step_generator.go: Analyze gets the inputs after the provider's Check (auto-names filled in), and
#   AnalyzeStack the outputs, with analyzer_plugin.go marshalling both with KeepUnknowns and KeepSecrets:
#   values unknown during preview arrive as the UNKNOWN sentinel, and outputs named in
#   additionalSecretOutputs arrive wrapped as secrets (the policy SDK unwraps them again).
VIEWS = ("engine", "program")


def wire_dict(props: Mapping[str, Any]) -> dict:
    """Props as the analyzer receives them: through a protobuf Struct and back to a dict."""
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return json_format.MessageToDict(struct)


def engine_inputs(resource: Resource) -> dict:
    """The inputs an analyzer receives for `resource`: none for a remote component."""
    return {} if (resource.options or {}).get("remote") else resource.inputs


def engine_outputs(resource: Resource) -> dict:
    """The outputs AnalyzeStack receives: secret-marked per additionalSecretOutputs; none for a remote component
    (its Construct registers only the child list, which offline has no rendering of)."""
    if (resource.options or {}).get("remote"):
        return {}
    outputs = resource.outputs if resource.outputs else resource.inputs
    secret = set((resource.options or {}).get("additionalSecretOutputs") or SDK_SECRET_OUTPUTS.get(resource.type, []))
    return {k: ({SIG_KEY: SECRET_SIG, "value": v} if k in secret else v) for k, v in outputs.items()}


def policy_props(wired: dict) -> Mapping[str, Any]:
    """What a policy's args.props is: deserialized (secrets unwrapped) and unknown-checking."""
    return unknown_checking_proxy(deserialize_properties(wired))


def _seconds(duration: Any) -> float:
    if isinstance(duration, (int, float)):
        return float(duration)
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", str(duration or "")):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def policy_options(resource: Resource) -> PolicyResourceOptions:
    options = resource.options or {}
    timeouts = options.get("customTimeouts") or {}
    secret_outputs = options.get("additionalSecretOutputs")
    if secret_outputs is None:
        secret_outputs = SDK_SECRET_OUTPUTS.get(resource.type, [])
    return PolicyResourceOptions(
        protect=bool(options.get("protect")),
        ignore_changes=list(options.get("ignoreChanges") or []),
        delete_before_replace=options.get("deleteBeforeReplace"),
        aliases=[a for a in options.get("aliases") or [] if isinstance(a, str)],  # the engine sends alias URNs
        custom_timeouts=PolicyCustomTimeouts(
            _seconds(timeouts.get("create")), _seconds(timeouts.get("update")), _seconds(timeouts.get("delete"))),
        additional_secret_outputs=list(secret_outputs),
        parent=resource.parent or None,
    )


def _provider_urn(reference: str) -> str:
    return reference.rsplit("::", 1)[0] if reference else ""  # "<provider urn>::<provider id>"


def provider_of(resource: Resource, by_urn: Mapping[str, Resource]) -> Optional[PolicyProviderResource]:
    provider = by_urn.get(_provider_urn(resource.provider))
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, policy_props(wire_dict(provider.inputs)), provider.urn, provider.name)


# ---------------------------------------------------------------------------------------------------
# Policy config, as the CLI reconciles it


class PolicyConfigError(ValueError):
    pass


LEVELS = {level.value: level for level in EnforcementLevel}


def load_policy_config(path: str | Path) -> dict[str, dict]:
    """A `--policy-pack-config` JSON file: {"all": "advisory", "<policy>": "disabled" | {enforcementLevel, ...props}}."""
    try:
        text = read_text(path)  # a FIFO or device would block or never end
    except ConfigError as err:
        raise PolicyConfigError(str(err)) from None
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError as err:
        raise PolicyConfigError(f"{path}: not JSON ({err}); write it like {{\"all\": \"advisory\"}}") from None
    if not isinstance(raw, dict):
        raise PolicyConfigError(f"{path}: the policy config must be a JSON object of policy names, like {{\"all\": \"advisory\"}}")
    result = {}
    for name, value in raw.items():
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, dict):
            raise PolicyConfigError(f"{name}: {value!r} is not a valid value; must be a string or object")
        level = value.get("enforcementLevel")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(f"{name}: {level!r} is not a valid enforcement level")
        result[name] = dict(value)
    return result


def resolve_config(
    policies: Sequence[Policy],
    given: Optional[Mapping[str, Mapping[str, Any]]] = None,
    pack_enforcement: EnforcementLevel = PACK_ENFORCEMENT,
) -> dict[str, tuple[EnforcementLevel, Optional[dict]]]:
    """Per policy: (enforcement level, config properties or None), defaults first, then `given`."""
    given = dict(given or {})
    result: dict[str, tuple[EnforcementLevel, Optional[dict]]] = {}
    for policy in policies:
        level = policy.enforcement_level or pack_enforcement
        props = None
        if policy.config_schema is not None:
            defaults = {k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v}
            props = defaults or None
        result[policy.name] = (level, props)
    all_level = (given.get("all") or {}).get("enforcementLevel")
    if all_level:
        result = {name: (LEVELS[all_level], props) for name, (_, props) in result.items()}
    errors = []
    for name, value in given.items():
        if name == "all":
            continue
        if name not in result:
            errors.append(f"{name}: no such policy in {PACK_NAME}")
            continue
        level, props = result[name]
        if value.get("enforcementLevel"):
            level = LEVELS[value["enforcementLevel"]]
        extra = {k: v for k, v in value.items() if k != "enforcementLevel"}
        if extra:
            props = {**(props or {}), **extra}
        result[name] = (level, props)
    for policy in policies:
        if policy.config_schema is None:
            continue
        document = result[policy.name][1] or {}
        schema = {"type": "object", "properties": policy.config_schema.properties}
        if policy.config_schema.required:
            schema["required"] = policy.config_schema.required
        for error in jsonschema.Draft7Validator(schema).iter_errors(document):
            where = ".".join(str(x) for x in error.absolute_path)
            errors.append(f"{policy.name}: {where + ': ' if where else ''}{error.message}")
    if errors:
        raise PolicyConfigError("invalid policy pack config:\n" + "\n".join(f"  - {e}" for e in errors))
    return result


def _configured(props: Optional[dict]) -> Optional[dict]:
    # Configure(): properties travel as a Struct; _get_policy_config returns a copy, or None when empty.
    return wire_dict(props) if props else None


# ---------------------------------------------------------------------------------------------------
# Running the policies


@dataclass
class Violation:
    policy: str
    enforcement: str
    urn: str
    message: str
    description: str

    @property
    def full_message(self) -> str:
        """What the CLI shows: the policy description, then the violation's message."""
        return f"{self.description}\n{self.message}" if self.message else self.description


@dataclass
class PolicyRun:
    name: str
    enforcement: str
    kind: str  # "resource" or "stack"
    description: str
    violations: list[Violation] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)


@dataclass
class Report:
    stack: str
    resources: int
    runs: list[PolicyRun]

    @property
    def violations(self) -> list[Violation]:
        return [v for run in self.runs for v in run.violations]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == EnforcementLevel.MANDATORY.value]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == EnforcementLevel.ADVISORY.value]

    @property
    def exit_code(self) -> int:
        return 1 if self.mandatory else 0

    def for_policy(self, name: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == name]

    def format(self, verbose: bool = False) -> str:
        lines = [f"Policy pack {PACK_NAME} on stack {self.stack!r}: {len(self.runs)} policies, {self.resources} resources"]
        for run in self.runs:
            status = "PASS" if not run.violations else "FAIL"
            if run.enforcement == EnforcementLevel.DISABLED.value:
                status = "SKIP"
            lines.append(f"{status:4}  [{run.enforcement}] {run.name} ({run.kind})")
            if run.violations or verbose:
                lines.append(f"        why/fix: {run.description}")
            for v in run.violations:
                lines.append(f"      [{v.enforcement}] {v.policy}: {v.urn or '(stack)'}")
                lines.append(f"          {v.message}")
        verdict = "FAILED (mandatory violations)" if self.mandatory else "passed"
        lines.append(f"{len(self.mandatory)} mandatory and {len(self.advisory)} advisory violation(s): {verdict}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"stack": self.stack, "resources": self.resources, "exitCode": self.exit_code,
                "policies": [asdict(run) for run in self.runs]}


def _run_validate(policy: Policy, args: Any, report, run: PolicyRun) -> None:
    try:
        result = policy.validate(args, report)
        if isawaitable(result):
            asyncio.run(result)
    except UnknownValueError as err:  # what the servicer does: an advisory note instead of a verdict
        run.violations.append(Violation(
            policy.name, EnforcementLevel.ADVISORY.value, "",
            f"can't run policy '{policy.name}' during preview: {err.message}", policy.description))
    except Exception as err:  # noqa: BLE001 - _NotApplicableError is private to the SDK
        if type(err).__name__ != "_NotApplicableError":
            raise
        run.not_applicable.append(getattr(err, "reason", None) or "")


def run_policies(
    capture: Capture,
    policies: Sequence[Policy] = POLICIES,
    policy_config: Optional[Mapping[str, Mapping[str, Any]]] = None,
    view: str = "engine",
) -> Report:
    """Every policy against every captured resource, the way `pulumi preview --policy-pack` runs them
    (`view="engine"`), or with the program's own inputs for every resource (`view="program"`)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    resolved = resolve_config(policies, policy_config)
    if view == "engine":
        inputs = {r.urn: wire_dict(engine_inputs(r)) for r in capture.resources}
        outputs = {r.urn: wire_dict(engine_outputs(r)) for r in capture.resources}
    else:
        inputs = {r.urn: wire_dict(r.inputs) for r in capture.resources}
        outputs = {r.urn: wire_dict(r.outputs if r.outputs else r.inputs) for r in capture.resources}
    # Built once, not once per policy: the servicer deserializes each resource again for every policy, to the
    # same values, and the policies only read them; the stack policies share one resource list.
    by_urn = {r.urn: r for r in capture.resources}
    options = {r.urn: policy_options(r) for r in capture.resources}
    providers = {r.provider: provider_of(r, by_urn) for r in capture.resources}
    resource_views = cache(lambda: [(r, policy_props(inputs[r.urn]), options[r.urn], providers[r.provider])
                                    for r in capture.resources])
    stack_view = cache(lambda: _stack_resources(capture, outputs, options, providers))
    runs = []
    for policy in policies:
        level, props = resolved[policy.name]
        kind = "stack" if isinstance(policy, StackValidationPolicy) else "resource"
        run = PolicyRun(policy.name, level.value, kind, policy.description)
        runs.append(run)
        if level == EnforcementLevel.DISABLED:
            continue
        if level == EnforcementLevel.REMEDIATE:
            level = EnforcementLevel.MANDATORY  # a violation that remains counts as mandatory
        config = _configured(props)

        def recorder(default_urn: str, level=level, run=run, policy=policy, fixed: bool = False):
            def report_violation(message: str, urn: Optional[str] = None) -> None:
                where = default_urn if fixed else (urn or "")
                run.violations.append(Violation(policy.name, level.value, where, message or "", policy.description))
            return report_violation

        if isinstance(policy, ResourceValidationPolicy):
            for r, props, opts, provider in resource_views():
                args = ResourceValidationArgs(r.type, props, r.urn, r.name, opts, provider, config, {})
                # The URN a resource policy passes is ignored: it is always the validated resource's.
                _run_validate(policy, args, recorder(r.urn, fixed=True), run)
        elif isinstance(policy, StackValidationPolicy):
            _run_validate(policy, StackValidationArgs(stack_view(), config, {}), recorder(""), run)
    return Report(capture.stack, len(capture.resources), runs)


def _stack_resources(capture: Capture, outputs: Mapping[str, dict], options: Mapping[str, PolicyResourceOptions],
                     providers: Mapping[str, Optional[PolicyProviderResource]]) -> list[PolicyResource]:
    resources = {
        r.urn: PolicyResource(r.type, policy_props(outputs[r.urn]), r.urn, r.name, options[r.urn],
                              providers[r.provider], None, [], {})
        for r in capture.resources
    }
    for r in capture.resources:
        resource = resources[r.urn]
        if r.parent in resources:
            resource.parent = resources[r.parent]
        resource.dependencies = [resources[d] for d in r.dependencies if d in resources]
    return list(resources.values())


# ---------------------------------------------------------------------------------------------------
# Command line


def run(stack: Optional[str] = None, config_file: Optional[str | Path] = None,
        policy_config: Optional[str | Path] = None, as_json: bool = False, verbose: bool = False,
        view: str = "engine", preview: bool = False) -> int:
    """Print the pack's report for a stack (or a stack-like file); the exit code (1 mandatory, 2 bad input).

    `view`: "engine" (what the CLI's analyzer receives, the default) or "program"; `preview`: run as the
    first preview of a new stack (cloud-computed values unknown)."""
    try:
        given = load_policy_config(policy_config) if policy_config else None
        capture = run_stack(load_stack(stack, config_file), preview=preview)
        for severity, message in capture.log:  # what the program logged, once
            print(f"{severity}: {message}", file=sys.stderr)
        report = run_policies(capture, POLICIES, given, view=view)
    except PolicyConfigError as err:
        print(err, file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the program rejected its config before any policy ran
        print(f"the program failed before any policy ran:\n{err}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=2) if as_json else report.format(verbose))
    return report.exit_code
