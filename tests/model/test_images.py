"""The images the platform chooses (platform/images.yaml, components/model/images.py): Binary Authorization's
pattern matching, the serving-image check, digest pinning of chart values and the trainer, and the
production warning for images without a digest."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml

from components.capture import REPO
from components.kubernetes import argo
from components.kubernetes.controller_config import jobset_values, kueue_values
from components.model import images
from components.model.images import admitted, admitted_patterns, catalog, digest_warnings, normalized
from components.model.load import parse_platform
from components.monitoring import adapter, values as kps
from components.training.contract import IMAGE
from conftest import PLATFORM_KEY, config_error, find_issue, load_dev_platform_raw, load_stack_config

VALUES = REPO / "platform" / "charts" / "values"
CHART_FILES = {"kueue": "kueue-0.19.2.yaml", "jobset": "jobset-0.12.0.yaml",
               "kube-prometheus-stack": "kube-prometheus-stack-88.5.3.yaml",
               "prometheus-adapter": "prometheus-adapter-5.3.0.yaml", "argo-workflows": "argo-workflows-1.0.18.yaml"}
# kube-prometheus-stack passes these keys to its subcharts (Chart.yaml dependencies at 88.5.3).
SUBCHARTS = {"grafana": "grafana-12.11.1.yaml", "kube-state-metrics": "kube-state-metrics-8.4.0.yaml",
             "prometheus-node-exporter": "prometheus-node-exporter-4.56.1.yaml"}


# AdmissionWhitelistPattern.name_pattern (Binary Authorization API reference, v1beta1): "gcr.io/nginx* matches
# gcr.io/nginx@latest, but it does not match gcr.io/nginx/image ... gcr.io/nginx** matches gcr.io/nginx/image".
@pytest.mark.parametrize("image, pattern, expected", [
    ("gcr.io/nginx@latest", "gcr.io/nginx*", True),
    ("gcr.io/nginx/image", "gcr.io/nginx*", False),
    ("gcr.io/nginx/image", "gcr.io/nginx**", True),
    ("gcr.io/nginx:1.27", "gcr.io/nginx*", True),
    ("gcr.io/other:1", "gcr.io/nginx*", False),
    ("gcr.io/nginx:1.27", "gcr.io/nginx:1.27", True),
    ("gcr.io/nginx:1.28", "gcr.io/nginx:1.27", False),
])
def test_admission_patterns_match_as_binary_authorization_documents(image, pattern, expected):
    assert admitted(image, [pattern]) is expected


@pytest.mark.parametrize("image, full", [
    ("nginx", "docker.io/library/nginx"),
    ("pytorch/pytorch:2.13.0", "docker.io/pytorch/pytorch:2.13.0"),
    ("nvcr.io/nvidia/tritonserver:24.08-py3", "nvcr.io/nvidia/tritonserver:24.08-py3"),
    ("localhost/x:1", "localhost/x:1"),
    ("registry:5000/x", "registry:5000/x"),
])
def test_an_image_without_a_registry_is_read_as_docker_hub(image, full):
    assert normalized(image) == full


def _enforcing(raw: dict) -> dict:
    raw["security"]["binaryAuthorization"] = "enforce"
    return raw


def test_a_serving_image_the_enforced_policy_blocks_is_refused_at_its_path():
    raw = _enforcing(load_dev_platform_raw())
    serving = [i for i, t in enumerate(raw["teams"]) if t.get("serving")][0]
    raw["teams"][serving]["serving"]["image"] = "ghcr.io/acme/server:1.0"
    issue = find_issue(config_error(raw), f"teams[{serving}].serving.image", "Binary Authorization")
    assert issue and "'ghcr.io/acme/server*'" in issue.fix and "security.allowedImages" in issue.fix


def test_a_serving_image_admitted_by_allowed_images_passes_and_dry_run_does_not_refuse():
    raw = _enforcing(load_dev_platform_raw())
    serving = [i for i, t in enumerate(raw["teams"]) if t.get("serving")][0]
    raw["teams"][serving]["serving"]["image"] = "ghcr.io/acme/server:1.0"
    raw["security"]["allowedImages"] = ["ghcr.io/acme/server*"]
    parse_platform(raw)
    raw["security"]["allowedImages"] = []
    raw["security"]["binaryAuthorization"] = "dryrun"  # only logs: the pods run
    parse_platform(raw)


def test_a_pattern_that_does_not_cover_subpaths_does_not_admit_them():
    raw = _enforcing(load_dev_platform_raw())
    serving = [i for i, t in enumerate(raw["teams"]) if t.get("serving")][0]
    raw["teams"][serving]["serving"]["image"] = "ghcr.io/acme/models/server:1.0"
    raw["security"]["allowedImages"] = ["ghcr.io/acme*"]
    assert find_issue(config_error(raw), f"teams[{serving}].serving.image")


def test_the_catalog_is_complete_and_its_digests_are_well_formed():
    raw = yaml.safe_load((REPO / "platform" / "images.yaml").read_text())["images"]
    assert len({e["id"] for e in raw}) == len(raw)
    for entry in raw:
        assert entry["tag"] and entry["tag_source"] and re.fullmatch(r"[a-z0-9.-]+(:\d+)?/[a-z0-9./_-]+", entry["image"])
        if entry["digest"] is not None:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", entry["digest"]) and entry["digest_source"], entry["id"]
        assert entry.get("when", "always") in ("always", "pipelines")


def _has_path(chart: str, path: str) -> bool:
    doc = yaml.safe_load((VALUES / CHART_FILES[chart]).read_text())
    parts = path.split(".")
    if chart == "kube-prometheus-stack" and parts[0] in SUBCHARTS:
        doc, parts = yaml.safe_load((VALUES / SUBCHARTS[parts[0]]).read_text()), parts[1:]
    for part in parts:
        if not isinstance(doc, dict) or part not in doc:
            return False
        doc = doc[part]
    return True


def test_every_pin_is_a_value_the_chart_has_at_its_pinned_version():
    """Read the chart, not only its values: each pin's template use is cited in platform/images.yaml."""
    pins = [(i.chart, path) for i in catalog().values() for path in i.pin.values()]
    assert len(pins) >= 11
    missing = [p for p in pins if not _has_path(*p)]
    assert not missing, missing


def test_a_chart_image_with_a_digest_is_rendered_by_digest():
    dev = parse_platform(load_dev_platform_raw())
    jobset = catalog()["jobset"]
    assert jobset_values(dev)["image"] == {"repository": "registry.k8s.io/jobset/jobset",
                                           "tag": f"v0.12.0@{jobset.digest}"}
    assert "image" not in kueue_values(dev)["controllerManager"]["manager"]  # no digest known: the chart's tag


@pytest.fixture
def all_digested(monkeypatch):
    """Every catalog image with a digest, as after an operator filled them all."""
    digest = "sha256:" + "ab" * 32
    every = {k: replace(v, digest=digest) for k, v in catalog().items()}
    monkeypatch.setattr(images, "catalog", lambda: every)
    return digest


def test_each_pin_kind_writes_what_the_chart_template_reads(all_digested):
    """kube-prometheus-stack templates write `repo:tag@sha256:{{ sha }}` (the hex), node-exporter and
    kube-state-metrics `repo:tag@{{ digest }}` / `@{{ sha }}` (the whole digest), prometheus-adapter
    `repo:{{ tag }}`."""
    dev = parse_platform(load_dev_platform_raw())
    values = kps.chart_values(dev)
    assert values["prometheusOperator"]["image"]["sha"] == "ab" * 32
    assert values["prometheus"]["prometheusSpec"]["image"]["sha"] == "ab" * 32
    assert values["prometheus-node-exporter"]["image"]["digest"] == all_digested
    assert values["kube-state-metrics"]["image"]["sha"] == all_digested
    assert values["grafana"]["sidecar"]["image"]["sha"] == "ab" * 32
    assert adapter.chart_values(dev)["image"] == {"tag": f"v0.12.0@{all_digested}"}
    assert kueue_values(dev)["controllerManager"]["manager"]["image"]["tag"] == f"v0.19.2@{all_digested}"
    argo_values = argo.chart_values(dev)
    assert [argo_values[part]["image"]["tag"] for part in ("controller", "server", "executor")] == [
        f"v4.0.6@{all_digested}", f"v4.0.6@{all_digested}", f"v4.0.6-nonroot@{all_digested}"]
    assert not digest_warnings(parse_platform(load_stack_config("prod")[PLATFORM_KEY]))


@pytest.mark.parametrize("part, image_id", [
    ("controller", "argo-workflow-controller"), ("server", "argo-server"), ("executor", "argo-executor")])
def test_an_argo_image_with_a_digest_runs_as_the_catalog_reference(all_digested, part, image_id):
    """argo-helm argo-workflows-1.0.18: the controller and server Deployments and the controller's
    --executor-image write `{{ include "argo-workflows.image" }}:{{ default defaultTag .image.tag }}`, where
    argo-workflows.image is `registry/repository` (_helpers.tpl); composed from the vendored defaults and the
    platform's values, the pinned image is the catalog's image:tag@digest."""
    defaults = yaml.safe_load((VALUES / CHART_FILES["argo-workflows"]).read_text())[part]["image"]
    values = argo.chart_values(parse_platform(load_dev_platform_raw()))[part]["image"]
    composed = f"{defaults['registry']}/{defaults['repository']}:{values['tag']}"
    image = images.catalog()[image_id]
    assert composed == image.reference == f"{image.image}:{image.tag}@{all_digested}"


def test_the_trainer_runs_the_catalog_reference_and_the_policy_admits_it():
    assert IMAGE == catalog()["trainer"].reference
    prod = parse_platform(load_stack_config("prod")[PLATFORM_KEY])
    assert admitted(IMAGE, admitted_patterns(prod))


def test_argo_images_are_admitted_only_where_a_team_has_pipelines():
    raw = load_dev_platform_raw()
    with_pipelines = admitted_patterns(parse_platform(raw))
    for team in raw["teams"]:
        team.pop("pipelines", None)
    without = admitted_patterns(parse_platform(raw))
    assert "quay.io/argoproj/argoexec*" in with_pipelines and "quay.io/argoproj/argoexec*" not in without


def test_production_warns_for_each_image_without_a_digest():
    prod = parse_platform(load_stack_config("prod")[PLATFORM_KEY])
    [warning] = digest_warnings(prod)
    unpinned = [i for i in catalog().values() if not i.digest and i.when == "always"]
    assert f"{len(unpinned)} image(s)" in warning.message and "crane digest" in warning.fix
    assert all(f"{i.image}:{i.tag}" in warning.message for i in unpinned)
    assert not digest_warnings(parse_platform(load_dev_platform_raw()))  # development: no warning


@pytest.mark.parametrize("chart, values, path", [
    ("jobset", {"image": {"tag": "v0.12.0"}}, "charts.jobset.values.image.tag"),  # pinned by digest
    # No digest yet: still the catalog's image (Binary Authorization's patterns and a later pin read it there).
    ("argoWorkflows", {"controller": {"image": {"tag": "v3.6.0"}}}, "charts.argoWorkflows.values.controller.image.tag"),
    ("kueue", {"controllerManager": {"manager": {"image": {"tag": "v0.14.0"}}}},
     "charts.kueue.values.controllerManager.manager.image.tag"),
])
def test_a_stack_cannot_override_an_image_the_platform_chooses(chart, values, path):
    raw = load_dev_platform_raw()
    raw.setdefault("charts", {})[chart] = {"values": values}
    issue = find_issue(config_error(raw), path)
    assert issue and "platform/images.yaml" in issue.fix, issue
