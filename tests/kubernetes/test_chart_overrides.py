"""Chart overrides (charts.<chart>.values): merged over the model's values, refused at their path when they
touch a value the platform owns or one the pinned chart does not have.

The charts' defaults are their values.yaml at the pinned tags, vendored verbatim (platform/charts/values/
sources.yaml names repo@tag (commit):path of each). Helm coalesces user values over defaults map by map
and lets the user's list or scalar replace the default (helm/helm@v3.19.5 pkg/chartutil/coalesce.go,
coalesceTablesFullKey: "dest is considered authoritative"), which `merged` restates for the platform's values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.kubernetes import argo
from components.kubernetes.controller_config import jobset_values, kueue_values
from components.model import chart_overrides as co
from components.model import parse_platform
from components.model.errors import apply_fix
from components.model.schema import SCHEMA_VERSIONS
from components.monitoring import values as kps
from conftest import assert_issue, config_error, load_dev_platform_raw, run_with
from policy_support import T_CHART, assert_violation, check

VALUES_DIR = Path(co.VALUES_DIR)
RENDERERS = {"kueue": kueue_values, "jobset": jobset_values,
             "monitoring": lambda p: kps.chart_values(p, webhook=True), "argoWorkflows": argo.chart_values}

# What a platform engineer reaches for without forking: a Kueue feature gate, the controller's resources,
# a Grafana ingress with SSO, another Alertmanager receiver routed by label, how long Argo keeps finished
# workflows and its controller's resources.
VALID = {
    "kueue": {"controllerManager": {"featureGates": [{"name": "PartialAdmission", "enabled": True}],
                                    "manager": {"resources": {"limits": {"memory": "1Gi"}}}}},
    "jobset": {"controller": {"resources": {"requests": {"cpu": "250m"}}, "podAnnotations": {"team": "platform"}}},
    "monitoring": {
        "grafana": {"ingress": {"enabled": True, "hosts": ["grafana.example.com"]},
                    "grafana.ini": {"auth.generic_oauth": {"enabled": True, "client_id": "grafana"}}},
        "alertmanager": {"config": {
            "receivers": [{"name": "oncall", "pagerduty_configs": [{"routing_key_file": "/etc/am/pd"}]}],
            "route": {"routes": [{"receiver": "oncall", "matchers": ['severity = "critical"']}]}}},
    },
    "argoWorkflows": {"controller": {"resources": {"requests": {"cpu": "200m"}}, "workflowDefaults": {"spec": {
        "ttlStrategy": {"secondsAfterCompletion": 86400}}}}, "server": {"extraArgs": ["--basehref", "/argo/"]}},
}


def _with(chart: str, values: dict):
    raw = load_dev_platform_raw()
    raw["charts"] = {chart: {"values": values}}
    return raw


def _leaves(value, path=()):
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            yield from _leaves(sub, (*path, key))
    else:
        yield path


@pytest.mark.parametrize("chart", sorted(VALID))
def test_a_valid_override_reaches_the_chart_over_the_models_values(chart):
    base = RENDERERS[chart](parse_platform(load_dev_platform_raw()))
    out = RENDERERS[chart](parse_platform(_with(chart, VALID[chart])))
    for path in _leaves(VALID[chart]):
        got, want = out, VALID[chart]
        for key in path:
            got, want = got[key], want[key]
        if path in co.JOINED[chart]:
            assert got[-len(want):] == want
        else:
            assert got == want, co.dotted(path)
    # Everything else the model set is still there.
    for path in set(_leaves(base)) - set(_leaves(VALID[chart])):
        got, want = out, base
        for key in path:
            got, want = got[key], want[key]
        if path not in co.JOINED[chart]:
            assert got == want, co.dotted(path)


def test_the_platforms_receivers_and_routes_stay_when_an_override_adds_its_own():
    cfg = RENDERERS["monitoring"](parse_platform(_with("monitoring", VALID["monitoring"])))["alertmanager"]["config"]
    assert [r["name"] for r in cfg["receivers"]] == ["alertmanager-only", "platform-webhook", "oncall"]
    assert cfg["route"]["receiver"] == "platform-webhook"
    assert [r["receiver"] for r in cfg["route"]["routes"]] == ["alertmanager-only", "oncall"]  # Watchdog first


@pytest.mark.parametrize("chart, values, path, instead", [
    ("kueue", {"controllerManager": {"replicas": 3}}, "controllerManager.replicas", "controllers.replicas"),
    ("kueue", {"managerConfig": {"controllerManagerConfigYaml": "kind: Configuration"}},
     "managerConfig.controllerManagerConfigYaml",
     "kueue.podsReadyTimeoutMinutes"),
    ("jobset", {"controller": {"nodeSelector": {"pool": "gpu"}}}, "controller.nodeSelector.pool",
     "cluster.systemPool"),
    ("monitoring", {"prometheus": {"prometheusSpec": {"retention": "90d"}}}, "prometheus.prometheusSpec.retention",
     "monitoring.retentionDays"),
    ("monitoring", {"grafana": {"adminPassword": "hunter2"}}, "grafana.adminPassword", "grafana-admin Secret"),
    ("monitoring", {"prometheusOperator": {"tls": {"enabled": True}}}, "prometheusOperator.tls.enabled",
     "helm.v4.Chart never applies hooks"),
    ("argoWorkflows", {"server": {"serviceType": "LoadBalancer"}}, "server.serviceType", "kubectl port-forward"),
    ("argoWorkflows", {"server": {"ingress": {"enabled": True}}}, "server.ingress.enabled", "admits no ingress"),
    ("argoWorkflows", {"server": {"authModes": ["server"]}}, "server.authModes", "caller's own Kubernetes token"),
    ("argoWorkflows", {"controller": {"rbac": {"accessAllSecrets": True}}}, "controller.rbac.accessAllSecrets",
     "least-privilege defaults"),
    ("argoWorkflows", {"createAggregateRoles": True}, "createAggregateRoles", "in its own namespace only"),
    ("argoWorkflows", {"crds": {"install": True}}, "crds.install", "platform/crds/argo"),
    ("argoWorkflows", {"images": {"tag": "v3.6.0"}}, "images.tag", "versions.argoWorkflows"),
    # below a map whose chart default is empty (any key goes there) the platform's own key is still refused
    ("argoWorkflows", {"controller": {"workflowDefaults": {"spec": {"securityContext": {"runAsUser": 0}}}}},
     "controller.workflowDefaults.spec.securityContext.runAsUser", "Pod Security restricted"),
])
def test_an_owned_key_is_refused_at_its_path_naming_the_setting(chart, values, path, instead):
    err = config_error(_with(chart, values))
    assert len(err.issues) == 1, err
    assert_issue(err, f"charts.{chart}.values.{path}", "set by the platform from the model", fix=instead)


def test_replacing_a_map_that_holds_owned_keys_is_refused():
    err = config_error(_with("kueue", {"controllerManager": None}))
    assert_issue(err, "charts.kueue.values.controllerManager", "would replace controllerManager.replicas",
                 fix="controllers.replicas")


@pytest.mark.parametrize("chart, values, path, fix", [
    ("kueue", {"controllerManager": {"featureGate": []}}, "controllerManager.featureGate", "did you mean 'featureGates'"),
    ("jobset", {"controler": {"replicas": 2}}, "controler", "did you mean 'controller'"),
    ("monitoring", {"grafana": {"ingress": {"enabld": True}}}, "grafana.ingress.enabld", "did you mean 'enabled'"),
    ("monitoring", {"alertmanager": {"alertmanagerSpec": {"zzz": 1}}}, "alertmanager.alertmanagerSpec.zzz",
     "in platform/charts/values/kube-prometheus-stack-88.5.3.yaml"),
    ("argoWorkflows", {"controller": {"logging": {"levl": "debug"}}}, "controller.logging.levl", "did you mean 'level'"),
    ("argoWorkflows", {"sever": {"replicas": 2}}, "sever", "did you mean 'server'"),
])
def test_an_unknown_key_is_refused_at_its_path(chart, values, path, fix):
    err = config_error(_with(chart, values))
    assert len(err.issues) == 1, err
    assert_issue(err, f"charts.{chart}.values.{path}", "has no value", fix=fix)


def test_the_fix_of_an_unknown_key_makes_the_config_valid():
    raw = _with("kueue", {"controllerManager": {"featureGate": [], "manager": {"logLevel": 4}}})
    issue = config_error(raw).issues[0]
    apply_fix(raw, issue)
    assert parse_platform(raw).charts.kueue.values == {"controllerManager": {"manager": {"logLevel": 4}}}


@pytest.mark.parametrize("chart", sorted(RENDERERS))
def test_every_value_the_platform_sets_exists_in_the_pinned_chart_and_is_owned_or_overridable(chart, monkeypatch):
    """The house rule 'every value set exists at the pinned tag', and no platform value left unowned by accident."""
    values = RENDERERS[chart](parse_platform(load_dev_platform_raw()))
    monkeypatch.setitem(co.OWNED, chart, {})
    unknown = [str(i) for top, v in values.items() for i in co._walk(chart, "values", (top,), v, co.chart_defaults(chart))]
    assert unknown == []
    monkeypatch.undo()
    # Defaults the platform sets that a stack may change (everything else it sets is OWNED).
    overridable = {("grafana", "ingress", "enabled")} | {p for p in _leaves(values) if p[:2] == ("alertmanager", "config")}
    unowned = [co.dotted(p) for p in _leaves(values) if co._owner(chart, p) is None and p not in overridable]
    assert unowned == []


def test_vendored_values_match_the_pins_and_the_hook_audit():
    sources = yaml.safe_load((VALUES_DIR / "sources.yaml").read_text())["files"]
    assert sorted(sources) == sorted(p.name for p in VALUES_DIR.glob("*.yaml") if p.name != "sources.yaml")
    audit = {c["chart"]: c for c in yaml.safe_load((VALUES_DIR.parent / "hook-audit.yaml").read_text())["charts"]}
    for file, source in sources.items():
        name, version = file.removesuffix(".yaml").rsplit("-", 1)
        assert audit[name]["version"] == version
        assert source.startswith(audit[name]["source"].split(":")[0])  # same repo, tag and commit
    assert co.CHARTS["kueue"].version == SCHEMA_VERSIONS["kueue"] and co.CHARTS["jobset"].version == SCHEMA_VERSIONS["jobset"]
    assert co.CHARTS["monitoring"].version == kps.CHART_VERSION
    assert co.CHARTS["argoWorkflows"].version == argo.CHART_VERSION == SCHEMA_VERSIONS["argo_workflows"]
    assert {f.removesuffix(".yaml") for f in co.CHARTS["monitoring"].subcharts.values()} == {
        f"{c}-{audit[c]['version']}" for c in ("grafana", "kube-state-metrics", "prometheus-node-exporter")}


def test_the_policy_pack_sees_the_merged_values():
    """The override is merged before the Chart is registered, so the pack judges what the chart gets: a
    plaintext client secret put in Grafana's SSO settings is flagged like any chart credential."""
    capture = run_with(lambda raw: raw.__setitem__("charts", {"monitoring": {"values": {
        "grafana": {"grafana.ini": {"auth.generic_oauth": {"client_secret": "s3cr3t"}}}}}}))
    chart = next(r for r in capture.of_type(T_CHART) if r.inputs["chart"] == kps.CHART)
    assert chart.inputs["values"]["grafana"]["grafana.ini"]["auth.generic_oauth"]["client_secret"] == "s3cr3t"
    assert chart.inputs["values"]["grafana"]["admin"]["existingSecret"] == kps.GRAFANA_ADMIN_SECRET
    report = check(capture, "no-plaintext-credentials", view="program")
    assert_violation(report, "no-plaintext-credentials", "client_secret", chart.urn)


def test_the_docs_example_is_a_valid_override():
    text = (Path(co.VALUES_DIR).parents[2] / "docs" / "operating.md").read_text()
    section = text.split("## Chart overrides", 1)[1]
    example = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    raw = load_dev_platform_raw()
    raw.update(example)
    platform = parse_platform(raw)
    assert kueue_values(platform)["controllerManager"]["featureGates"] == [{"name": "PartialAdmission", "enabled": True}]
    assert kps.chart_values(platform)["grafana"]["ingress"]["enabled"] is True


def test_an_argo_override_without_a_pipelines_team_is_refused():
    """The chart is installed only where a team has pipelines: true (components/kubernetes/argo.py enabled)."""
    raw = _with("argoWorkflows", VALID["argoWorkflows"])
    for team in raw["teams"]:
        team.pop("pipelines", None)
    assert_issue(config_error(raw), "charts.argoWorkflows", "installed only where a team has pipelines: true",
                 fix="set pipelines: true on a team")
