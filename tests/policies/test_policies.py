"""The policy pack (policies/): every policy passes the dev stack and catches its failure.

Bad stacks come from real config mutations where the model allows the bad state, and otherwise from
mutated captures of the real program (the case the policies exist for: someone editing code or
bypassing the model). The policies are run by policies.runner, which builds the same argument
objects as the CLI's analyzer host; one test also runs the pack exactly as the CLI does (a gRPC
analyzer plugin started from policies/) and compares its verdicts with the offline runner's.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.capture import REPO, Capture, Resource
from policies import runner
from policies.gpu_batch_policies import PACK_NAME, POLICIES
from components.cli import main as cli
from policies.runner import Report, resolve_config, run_policies
from policy_support import (PLATFORM_KEY, POLICY, SECRET_SIG, T_POOL, T_RF, UNKNOWN_OBJECT, UNKNOWN_STRING, assert_clean,
                            check, dev_config, edit, gke_pool, res, set_gpu_quota)
from policy_support import dev, policy_dev  # noqa: F401 (fixtures)


# ---------------------------------------------------------------------------------------------------
# The pack itself


def test_pack_metadata():
    assert len(POLICIES) >= 20
    assert len(POLICY) == len(POLICIES), "policy names must be unique"
    for policy in POLICIES:
        assert policy.name and policy.description and "Fix" in policy.description, policy.name
        assert policy.enforcement_level is not None
    advisory = {p.name for p in POLICIES if p.enforcement_level.value == "advisory"}
    assert advisory == {"reservations-specific-only", "kueue-borrowing-reachable", "cost-within-budget"}
    assert (REPO / "policies" / "PulumiPolicy.yaml").exists()
    pack = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    requirements = (REPO / "policies" / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements and "pulumi==3.272.0" in requirements
    readme = (REPO / "policies" / "README.md").read_text()
    for policy in POLICIES:
        assert f"| `{policy.name}` | {policy.enforcement_level.value} |" in readme, policy.name


def test_pack_does_not_import_the_project():
    """The pack runs in its own venv, where `components` does not exist."""
    for path in (REPO / "policies" / "gpu_batch_policies").glob("*.py"):
        text = path.read_text()
        assert "import components" not in text and "from components" not in text, path
    main_text = (REPO / "policies" / "__main__.py").read_text()
    assert "components" not in main_text.split('"""', 2)[-1]


@pytest.fixture(scope="module")
def stack_reports() -> dict[str, Report]:
    from conftest import STACKS, capture_of, load_stack_config

    return {stack: run_policies(capture_of(load_stack_config(stack), stack)) for stack in STACKS}


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("name", [p.name for p in POLICIES])
def test_every_stack_passes(stack_reports: dict[str, Report], stack: str, name: str):
    assert_clean(stack_reports[stack], name)


def test_config_defaults_applied_as_the_cli_does():
    resolved = resolve_config(POLICIES)
    assert resolved["gke-master-authorized-networks"] == (POLICY["gke-master-authorized-networks"].enforcement_level,
                                                          {"minPrefixLength": 8})
    assert resolved["gke-private-nodes"][1] is None  # no schema: no config at all
    given = {"all": {"enforcementLevel": "advisory"}, "gpu-pools-scale-from-zero": {"maxMinNodes": 1}}
    resolved = resolve_config(POLICIES, given)
    assert resolved["gpu-pools-scale-from-zero"][0].value == "advisory"
    assert resolved["gpu-pools-scale-from-zero"][1] == {"maxMinNodes": 1}
    with pytest.raises(runner.PolicyConfigError, match="minPrefixLength"):
        resolve_config(POLICIES, {"gke-master-authorized-networks": {"minPrefixLength": "wide"}})


# ---------------------------------------------------------------------------------------------------
# The offline runner's report and exit code


def test_offline_report_on_dev_is_clean(capsys):
    assert cli(["policy", "dev"]) == 0
    out = capsys.readouterr().out
    for policy in POLICIES:
        assert f"PASS  [{policy.enforcement_level.value}] {policy.name}" in out
    assert "0 mandatory and 0 advisory violation(s): passed" in out


def _broken(capture: Capture) -> Capture:
    """A GPU pool without its taint, a flavor that does not tolerate its pool, and quota over the reserved capacity."""
    edit(res(capture, T_POOL, "l4-spot-pool"), lambda p: p["nodeConfig"].update(taints=[]))
    edit(res(capture, T_RF, "l4-spot"), lambda p: p["spec"].update(tolerations=[]))
    set_gpu_quota(capture, "team-a-high", "l4-reserved", "8")
    return capture


def test_offline_report_on_broken_capture(dev: Capture, monkeypatch, capsys):
    broken = _broken(dev)
    monkeypatch.setattr(runner, "run_stack", lambda stack, config=None, preview=False: broken)
    assert cli(["policy", "dev"]) == 1
    out = capsys.readouterr().out
    pool_urn = res(broken, T_POOL, "l4-spot-pool").urn
    assert "FAIL  [mandatory] gpu-pools-capacity-taint (resource)" in out
    assert f"[mandatory] gpu-pools-capacity-taint: {pool_urn}" in out
    assert f"GPU node pool '{gke_pool('l4-spot')}' has no batch-platform/capacity taint" in out
    assert f"[mandatory] kueue-gpu-quota-within-capacity: {res(broken, T_RF, 'l4-reserved').urn}" in out
    assert "flavor 'l4-reserved' is over-subscribed: nominal nvidia.com/gpu quotas sum to 14" in out
    assert f"[mandatory] kueue-flavors-match-nodes: {res(broken, T_RF, 'l4-spot').urn}" in out
    assert "3 mandatory and 0 advisory violation(s): FAILED" in out


def test_offline_config_file(tmp_path: Path, capsys):
    """A stack file the model accepts, judged by a stricter policy config (as with --policy-pack-config):
    the dev stack's /22 VPC block is wider than a minPrefixLength of 23."""
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump({"config": dev_config()}))
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"gke-master-authorized-networks": {"minPrefixLength": 23}}))
    assert cli(["policy", "--config-file", str(path), "--policy-config", str(strict)]) == 1
    out = capsys.readouterr().out
    assert "stack 'broken'" in out
    assert "[mandatory] gke-master-authorized-networks: urn:pulumi:broken::" in out
    # The same violation downgraded by a policy pack config file.
    advisory = tmp_path / "advisory.json"
    advisory.write_text(json.dumps({"gke-master-authorized-networks": {"enforcementLevel": "advisory", "minPrefixLength": 23}}))
    assert cli(["policy", "--config-file", str(path), "--policy-config", str(advisory)]) == 0
    assert "[advisory] gke-master-authorized-networks:" in capsys.readouterr().out


def test_offline_config_the_model_rejects(tmp_path: Path, capsys):
    config = dev_config()
    config[PLATFORM_KEY]["gpuPools"][2]["minNodes"] = 3
    path = tmp_path / "Pulumi.rejected.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    assert cli(["policy", "--config-file", str(path)]) == 2
    assert "before any policy ran" in capsys.readouterr().err


def test_offline_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "components.cli", "policy", "dev", "--json"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["exitCode"] == 0 and len(data["policies"]) == len(POLICIES)


# ---------------------------------------------------------------------------------------------------
# The pack as the Pulumi CLI runs it


def _struct(props: dict):
    from google.protobuf import struct_pb2
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def _options(resource: Resource):
    from pulumi.runtime.proto import analyzer_pb2
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(resource.options.get("protect")), ignoreChanges=resource.options.get("ignoreChanges") or [],
        additionalSecretOutputs=runner.policy_options(resource).additional_secret_outputs, parent=resource.parent)


@contextmanager
def _pack_process(cwd: Path, program: str):
    """The pack started like the CLI's analyzer plugin: `python -m pulumi.policy <engine> <pack>`, which
    runpy-runs <pack>/__main__.py; yields a gRPC Analyzer stub on the port it prints."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the pack must not need the repo root
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", program],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read()
        yield analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("cwd, program", [("policies", "."), (".", "policies")])
def test_pack_main_runs_as_the_cli_runs_it(cwd: str, program: str):
    from google.protobuf import empty_pb2, json_format

    with _pack_process(REPO / cwd, program) as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and [p.name for p in info.policies] == [p.name for p in POLICIES]
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels["reservations-specific-only"] != levels["gke-private-nodes"]
    schema = json_format.MessageToDict(
        next(p for p in info.policies if p.name == "gpu-taints-only-for-gpu-workloads").configSchema)
    assert schema["properties"]["gpuDaemonSetPatterns"]["default"] == ["nvidia", "dcgm", "device-plugin"]


def test_pack_under_the_cli_analyzer_host(dev: Capture):
    """Start the pack the way `pulumi preview --policy-pack policies` does (pulumi.policy's entry point
    runs policies/ with runpy from the pack directory), drive it over gRPC like the engine, and check
    that its verdicts on a broken stack are exactly the offline runner's."""
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime.proto import analyzer_pb2

    broken = _broken(dev)
    expected = run_policies(broken)
    with _pack_process(REPO / "policies", ".") as stub:
        info = stub.GetAnalyzerInfo(empty_pb2.Empty())
        assert info.name == PACK_NAME and [p.name for p in info.policies] == [p.name for p in POLICIES]
        # The engine reconciles config (schema defaults) from GetAnalyzerInfo and sends it with Configure.
        configs = {}
        for p in info.policies:
            defaults = {k: v["default"] for k, v in json_format.MessageToDict(p.configSchema).get("properties", {}).items()
                        if "default" in v}
            configs[p.name] = analyzer_pb2.PolicyConfig(enforcementLevel=p.enforcementLevel, properties=_struct(defaults))
        stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=configs))
        by_urn = {r.urn: r for r in broken.resources}
        seen = set()
        for r in broken.resources:
            provider = by_urn.get(r.provider.rsplit("::", 1)[0])
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name, options=_options(r),
                provider=analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_struct(provider.inputs),
                                                               urn=provider.urn, name=provider.name) if provider else None)
            for d in stub.Analyze(request).diagnostics:
                # A resource policy's diagnostic carries no URN: the engine files it under the analyzed resource.
                assert d.urn == ""
                seen.add((d.policyName, r.urn, analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower()))
        stack = analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.outputs), urn=r.urn, name=r.name, options=_options(r),
            parent=r.parent, dependencies=r.dependencies) for r in broken.resources])
        for d in stub.AnalyzeStack(stack).diagnostics:
            seen.add((d.policyName, d.urn, analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower()))
            assert d.message.startswith(POLICY[d.policyName].description)
    assert seen == {(v.policy, v.urn, v.enforcement) for v in expected.violations}
    assert len(seen) == 3


@pytest.mark.parametrize("odd", [UNKNOWN_OBJECT, None, {}, [], "x", 0])
def test_policies_survive_odd_shapes(dev: Capture, odd: Any):
    """Whatever shape a property has (unknown during preview, null, wrong type), no policy crashes."""
    for r in dev.resources:
        edit(r, lambda p: p.update({k: copy.deepcopy(odd) for k in p}))
        for key in ("metadata", "spec", "nodeConfig", "autoscaling", "clusterAutoscaling", "values"):
            r.inputs.setdefault(key, copy.deepcopy(odd))
        r.outputs = copy.deepcopy(r.inputs)
    run_policies(dev)  # violations are fine; exceptions are not


def _replace_at_depth(value: Any, depth: int, odd: Any) -> Any:
    if depth == 0:
        return copy.deepcopy(odd)
    if isinstance(value, dict) and SECRET_SIG not in value:  # keep the wire format's secret envelopes intact
        return {k: _replace_at_depth(v, depth - 1, odd) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_at_depth(v, depth - 1, odd) for v in value]
    return value


@pytest.mark.parametrize("depth", [2, 3, 4, 5])
@pytest.mark.parametrize("odd", [UNKNOWN_STRING, None, "x", {}])
def test_policies_survive_odd_nested_shapes(policy_dev: Capture, depth: int, odd: Any):
    capture = copy.deepcopy(policy_dev)
    for r in capture.resources:
        r.inputs = _replace_at_depth(r.inputs, depth, odd)
        r.outputs = copy.deepcopy(r.inputs)
    run_policies(capture)


def test_shipped_open_control_plane_example_is_rejected_by_the_model(capsys):
    """policies/examples/open-control-plane.yaml: the typed model now refuses it (exit 2, path named)
    before any resource exists; the pack is the second line for resources that bypass the model."""
    from components.capture import REPO

    assert cli(["policy", "--config-file", str(REPO / "policies/examples/open-control-plane.yaml")]) == 2
    captured = capsys.readouterr()
    assert "network.authorizedNetworks[2].cidr: 0.0.0.0/0 opens the control plane" in captured.out + captured.err
