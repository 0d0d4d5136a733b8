"""The policy pack as the Pulumi CLI runs it: resources presented to analyzers the way the engine does.

Sources (pulumi/pulumi at 1b59498, pulumi/pulumi-kubernetes at 9497796):
* pkg/resource/deploy/source_eval.go, resmon.RegisterResource: "Remote components don't go through the
  step generator"; a `remote` registration goes to the provider's Construct. pulumi-kubernetes
  provider/pkg/provider/helm/v4/chart.go Construct registers the Chart with
  ctx.RegisterComponentResource(typ, name, comp, options): no properties reach the analyzer.
* provider/pkg/provider/yaml/v2/yaml.go: the chart's objects are registered as their own resources; a
  v1/Secret's data and stringData are wrapped with pulumi.ToSecret (no additionalSecretOutputs).
* pkg/resource/plugin/analyzer_plugin.go: Analyze/AnalyzeStack marshal properties with KeepUnknowns and
  KeepSecrets; pulumi-policy's deserialize_properties unwraps secrets and its unknown_checking_proxy
  raises on unknown values (the servicer turns that into "can't run policy during preview").
"""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from components.capture import Capture, Resource, run_stack
from conftest import load_dev_config
from policies.gpu_batch_policies import POLICIES
from policies.runner import SECRET_SIG, SIG_KEY, engine_outputs, policy_props, run_policies, wire_dict

CHART = "kubernetes:helm.sh/v4:Chart"


@pytest.fixture(scope="module")
def preview() -> Capture:
    """The first `pulumi preview` of a new dev stack: nothing exists, cloud-computed values are unknown."""
    return run_stack("dev", config=load_dev_config(), preview=True)


def _seen(capture: Capture, type_: str, view: str) -> dict[str, dict]:
    """What a resource policy receives as args.props for each resource of `type_`, in `view`."""
    seen: dict[str, dict] = {}

    def record(args, report_violation):
        if args.resource_type == type_:
            seen[args.name] = dict(args.props)

    spy = ResourceValidationPolicy("spy", "records props", record, EnforcementLevel.ADVISORY)
    run_policies(capture, [spy], view=view)
    return seen


def test_the_charts_are_remote_components(dev_capture):
    charts = dev_capture.of_type(CHART)
    assert len(charts) >= 2 and all(c.options["remote"] for c in charts)


def test_analyzers_see_a_remote_chart_without_inputs(dev_capture):
    engine = _seen(dev_capture, CHART, "engine")
    assert {"controllers-jobset", "controllers-kueue"} <= set(engine) and not any(engine.values())
    program = _seen(dev_capture, CHART, "program")
    assert program["controllers-kueue"]["version"] == "0.19.2"


@pytest.mark.parametrize("view", ["engine", "program"])
def test_dev_passes_the_pack_in_both_views(dev_capture, view):
    report = run_policies(dev_capture, POLICIES, view=view)
    assert report.mandatory == [], report.format()


def test_dev_passes_the_pack_at_its_first_preview(preview):
    report = run_policies(preview, POLICIES, view="engine")
    assert report.mandatory == [], report.format()


def test_preview_values_are_unknown_to_policies(preview):
    """The team KSA's annotation names a GSA e-mail the cloud has not computed yet."""
    [ksa] = [r for r in preview.of_type("kubernetes:core/v1:ServiceAccount") if r.name == "tenancy-team-a-serviceaccount"]
    annotation = ksa.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert annotation == rpc.UNKNOWN
    props = policy_props(wire_dict(ksa.inputs))
    with pytest.raises(UnknownValueError):
        _ = props["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]


def test_secret_outputs_arrive_marked_and_policies_see_them_plain():
    secret = Resource(urn="urn:pulumi:dev::p::kubernetes:core/v1:Secret::s", type="kubernetes:core/v1:Secret", name="s",
                      custom=True, parent="", inputs={"data": {"k": "dg=="}}, outputs={"data": {"k": "dg=="}},
                      dependencies=[], provider="", options={"additionalSecretOutputs": ["data"]})
    assert engine_outputs(secret)["data"] == {SIG_KEY: SECRET_SIG, "value": {"k": "dg=="}}
    assert dict(policy_props(wire_dict(engine_outputs(secret)))["data"]) == {"k": "dg=="}


def _jobset_cert_secret(capture: Capture, data: dict) -> Resource:
    """JobSet 0.12.0 charts/jobset/templates/internalcert/secret.yaml as the Chart registers it: a child of
    the Chart, data wrapped secret by yaml/v2 Register, no additionalSecretOutputs option."""
    chart = capture.named("controllers-jobset", CHART)
    resource = Resource(
        urn=f"{chart.urn.rsplit('::', 1)[0]}$kubernetes:core/v1:Secret::jobset-system/jobset-webhook-server-cert",
        type="kubernetes:core/v1:Secret", name="jobset-system/jobset-webhook-server-cert", custom=True,
        parent=chart.urn, dependencies=[], provider="", options={"additionalSecretOutputs": []},
        inputs={"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "jobset-webhook-server-cert", "namespace": "jobset-system"},
                "data": {SIG_KEY: SECRET_SIG, "value": data}},
        outputs={},
    )
    return resource


@pytest.mark.parametrize("data", [
    {"ca.crt": "", "ca.key": "", "tls.crt": "", "tls.key": ""},  # what the chart renders
    {"tls.key": "LS0tLS1CRUdJTg=="},  # what the controller writes back; still secret-wrapped by the provider
])
def test_a_charts_secret_is_not_a_plaintext_credential(dev_capture, data):
    capture = Capture(stack="dev", resources=[*dev_capture.resources, _jobset_cert_secret(dev_capture, data)])
    policy = [p for p in POLICIES if p.name == "no-plaintext-credentials"]
    assert run_policies(capture, policy, view="engine").violations == []


def test_an_empty_secret_outside_a_chart_holds_no_credential(dev_capture):
    empty = Resource(urn="urn:pulumi:dev::p::kubernetes:core/v1:Secret::e", type="kubernetes:core/v1:Secret", name="e",
                     custom=True, parent="", inputs={"data": {"tls.key": ""}}, outputs={}, dependencies=[],
                     provider="", options={"additionalSecretOutputs": []})
    capture = Capture(stack="dev", resources=[*dev_capture.resources, empty])
    policy = [p for p in POLICIES if p.name == "no-plaintext-credentials"]
    assert run_policies(capture, policy, view="engine").violations == []
