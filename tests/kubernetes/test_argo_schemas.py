"""Argo Workflows objects are validated offline against the vendored CRD schemas.

Source of every schema here: argoproj/argo-workflows@v4.0.6 (277e9cef)
manifests/base/crds/full/argoproj.io_{workflows,workflowtemplates,cronworkflows}.yaml, the appVersion of the
argo-workflows chart 1.0.18 (argoproj/argo-helm@argo-workflows-1.0.18 charts/argo-workflows/Chart.yaml),
whose files/crds/full/ copies are the same apart from a `helm.sh/resource-policy: keep` annotation."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from components.kubernetes.manifest_schema import CEL_NOT_CHECKED
from components.kubernetes.manifest_validation import is_validated, problems

SCHEMAS = Path(__file__).resolve().parents[2] / "platform" / "schemas"

WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "train-", "name": "train", "namespace": "team-a"},
    "spec": {
        "entrypoint": "main",
        "serviceAccountName": "team-a",
        "podMetadata": {"labels": {"kueue.x-k8s.io/queue-name": "team-a-batch"}},
        "templates": [
            {"name": "main", "dag": {"tasks": [
                {"name": "prep", "template": "step"},
                {"name": "train", "template": "step", "depends": "prep"},
            ]}},
            {"name": "step",
             "retryStrategy": {"limit": 3, "retryPolicy": "OnError",
                               "backoff": {"duration": "1m", "factor": 2, "maxDuration": "30m"}},
             "container": {"image": "busybox", "command": ["true"],
                           "resources": {"requests": {"cpu": "1"}}}},
        ],
    },
}


def test_a_workflow_and_a_workflow_template_validate_against_the_vendored_schema() -> None:
    template = {**copy.deepcopy(WORKFLOW), "kind": "WorkflowTemplate"}
    for obj in (WORKFLOW, template):
        assert is_validated(obj)
        assert problems(obj) == []


def test_a_misspelt_workflow_field_is_refused_not_pruned() -> None:
    wf = copy.deepcopy(WORKFLOW)
    wf["spec"]["entrypont"] = wf["spec"].pop("entrypoint")
    assert problems(wf) == [
        "Workflow/train: spec.entrypont: unknown field: not in the schema, the API server would drop it"]


def test_retry_policy_is_one_of_the_four_argo_knows() -> None:
    # argoproj.io_workflows.yaml: retryStrategy.retryPolicy enum Always, OnFailure, OnError, OnTransientError.
    wf = copy.deepcopy(WORKFLOW)
    wf["spec"]["templates"][1]["retryStrategy"]["retryPolicy"] = "OnPreemption"
    assert problems(wf) == [
        "Workflow/train: spec.templates[1].retryStrategy.retryPolicy: 'OnPreemption' is not one of "
        "['Always', 'OnFailure', 'OnError', 'OnTransientError']",
        f"Workflow/train: (root): {CEL_NOT_CHECKED}"]  # an enum failure stops the CRD's rules


def test_a_workflow_is_namespaced() -> None:
    wf = copy.deepcopy(WORKFLOW)
    del wf["metadata"]["namespace"]
    assert problems(wf) == ["Workflow/train: metadata.namespace: Required value: Workflow is namespaced"]


@pytest.mark.parametrize("kind", ["Workflow", "WorkflowTemplate", "CronWorkflow"])
def test_the_index_names_the_pinned_argo_source(kind: str) -> None:
    entries = [e for e in json.loads((SCHEMAS / "index.json").read_text())["schemas"] if e["kind"] == kind]
    assert [(e["apiVersion"], e["scope"], e["storage"], e["source"]["tag"], e["source"]["commit"])
            for e in entries] == [
        ("argoproj.io/v1alpha1", "Namespaced", True, "v4.0.6", "277e9cef0ad16d7eaaab253573d0695951a65dbd")]
    assert (SCHEMAS / entries[0]["file"]).is_file()


def test_a_cron_workflow_validates_and_a_misspelt_field_of_its_workflow_spec_is_refused() -> None:
    # docs/cron-workflows.md at v4.0.6: "`CronWorkflow.spec.workflowSpec` is the same type as `Workflow.spec`".
    cron = {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": WORKFLOW["metadata"],
            "spec": {"schedules": ["0 2 * * *"], "concurrencyPolicy": "Forbid",
                     "workflowSpec": copy.deepcopy(WORKFLOW["spec"])}}
    assert is_validated(cron) and problems(cron) == []
    cron["spec"]["workflowSpec"]["entrypont"] = cron["spec"]["workflowSpec"].pop("entrypoint")
    assert problems(cron) == ["CronWorkflow/train: spec.workflowSpec.entrypont: unknown field: not in the schema, "
                              "the API server would drop it"]


@pytest.mark.parametrize("kind", ["Workflow", "WorkflowTemplate", "CronWorkflow"])
def test_each_vendored_schema_is_the_openapi_schema_of_the_crd_the_stack_applies(kind: str) -> None:
    """platform/schemas/README.md: the served version's openAPIV3Schema, unchanged, of the CRD file the stack
    applies from platform/crds/argo (the same tag), so the offline check and the cluster cannot drift apart."""
    entry = next(e for e in json.loads((SCHEMAS / "index.json").read_text())["schemas"] if e["kind"] == kind)
    crd_file = SCHEMAS.parent / "crds" / "argo" / Path(entry["source"]["path"]).name
    crd = yaml.load(crd_file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    [version] = [v for v in crd["spec"]["versions"] if v["served"]]
    assert (crd["spec"]["names"]["kind"], version["name"], crd["spec"]["scope"]) == (kind, "v1alpha1", "Namespaced")
    assert json.loads((SCHEMAS / entry["file"]).read_text()) == version["schema"]["openAPIV3Schema"]
