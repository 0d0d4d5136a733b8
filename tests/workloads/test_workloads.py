"""Rendered team workloads (`python -m components.cli workloads`): derived from the model, valid, fault tolerant.

Each check names the behaviour it relies on:
- Kueue picks a job's LocalQueue from the `kueue.x-k8s.io/queue-name` label and its priority from
  the pods' PriorityClass (Kueue `site/content/en/docs/concepts/workload_priority_class.md`);
- Kubernetes "Handling retriable and non-retriable pod failures with Pod failure policy": a rule
  `Ignore` on the `DisruptionTarget` condition keeps preemptions and node drains out of the backoff
  count, `FailJob` on an exit code ends the job at once; `restartPolicy: Never` is required;
  "Backoff limit per index" for Indexed Jobs;
- JobSet `failurePolicy` (api/jobset/v1alpha2/jobset_types.go): rules in order, first match wins, no
  match restarts the JobSet, `maxRestarts` caps restarts; a child Job failed by its pod failure policy
  has the reason `PodFailurePolicy`;
- GKE "Mount Cloud Storage buckets as CSI ephemeral volumes": driver `gcsfuse.csi.storage.gke.io`,
  `volumeAttributes.bucketName`, pod annotation `gke-gcsfuse/volumes: "true"`, and a KSA bound to a
  GSA with access to the bucket (Workload Identity).
"""

from __future__ import annotations

import pytest
import yaml

from components.cli import main as cli
from components.explain import from_capture
from components.kubernetes.manifest_validation import is_validated, problems
from components.model import parse_platform
from components.workloads import WorkloadRequestError, kinds_for, render
from conftest import load_dev_platform_raw

DEV = parse_platform(load_dev_platform_raw())
# Jobs and JobSets; the model server (kind serving) is tests/workloads/test_serving.py's, the pipeline test_pipeline.py's.
CASES = [(team.name, kind) for team in DEV.teams for kind in kinds_for(DEV, team) if kind not in ("serving", "pipeline")]


def workload(objs: list[dict]) -> dict:
    return next(o for o in objs if o["kind"] in ("Job", "JobSet"))


def pod_specs(obj: dict) -> list[dict]:
    if obj["kind"] == "Job":
        return [obj["spec"]["template"]["spec"]]
    return [rj["template"]["spec"]["template"]["spec"] for rj in obj["spec"]["replicatedJobs"]]


def job_specs(obj: dict) -> list[dict]:
    return [obj["spec"]] if obj["kind"] == "Job" else [rj["template"]["spec"] for rj in obj["spec"]["replicatedJobs"]]


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def test_every_team_gets_its_kinds():
    """Teams granted DWS (team-a, team-b in dev) get a dws Job; the others do not."""
    assert {t: kinds_for(DEV, DEV.teams[i]) for i, t in enumerate(["team-a", "team-b", "team-c", "team-d"])} == {
        "team-a": ["high", "low", "compact", "jobset", "shared", "dws"],
        "team-b": ["high", "low", "compact", "jobset", "dws"],
        "team-c": ["high", "low", "compact", "jobset", "shared", "serving"],
        "team-d": ["high", "low", "compact", "jobset", "pipeline"],
    }
    with pytest.raises(WorkloadRequestError, match="team team-c cannot run a 'dws' workload; it can run: high, low, compact, jobset, shared"):
        render(DEV, "team-c", "dws")
    with pytest.raises(WorkloadRequestError, match="no team 'team-z'"):
        render(DEV, "team-z", "high")
    # An opt-in kind names the key that grants it.
    with pytest.raises(WorkloadRequestError, match=r"fix: set teams\[0\]\.pipelines: true"):
        render(DEV, "team-a", "pipeline")
    with pytest.raises(WorkloadRequestError, match=r"fix: give teams\[0\] a serving: section"):
        render(DEV, "team-a", "serving")


@pytest.mark.parametrize("team, kind", CASES)
def test_rendered_objects_are_valid(team, kind):
    """Validated like every object the platform applies: kubernetes-validate for built-ins, the vendored
    JobSet CRD schema (with CEL) for JobSets."""
    for obj in render(DEV, team, kind):
        assert is_validated(obj), obj["kind"]
        assert problems(obj) == []


@pytest.mark.parametrize("team, kind", CASES)
def test_queue_priority_and_identity_are_the_platforms(team, kind, cluster):
    """The label names a LocalQueue of the team's namespace, the priority class exists, the KSA is the
    team's Workload Identity account: all read from the applied objects, not from the renderer."""
    obj = workload(render(DEV, team, kind))
    queue = obj["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    assert cluster.named("LocalQueue", queue, team) is not None
    accounts = {sa["metadata"]["name"] for sa in cluster.in_namespace("ServiceAccount", team)}
    priority_classes = {pc["metadata"]["name"] for pc in cluster.of_kind("PriorityClass")}
    for spec in pod_specs(obj):
        assert spec["serviceAccountName"] in accounts
        assert spec["priorityClassName"] in priority_classes
        assert not spec.get("tolerations"), "Kueue injects the flavor's tolerations; the job carries none"


@pytest.mark.parametrize("team, kind", CASES)
def test_fault_tolerance(team, kind):
    obj = workload(render(DEV, team, kind))
    for job in job_specs(obj):
        rules = job["podFailurePolicy"]["rules"]
        assert rules[0] == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
        fail = [r for r in rules if r["action"] == "FailJob"]
        assert fail and fail[0]["onExitCodes"]["operator"] == "In"
        assert job["template"]["spec"]["restartPolicy"] == "Never"
        assert job["completionMode"] == "Indexed"
    if obj["kind"] == "Job":
        assert obj["spec"]["backoffLimitPerIndex"] >= 1
    else:
        policy = obj["spec"]["failurePolicy"]
        assert policy["maxRestarts"] >= 1
        assert policy["rules"] == [{"name": "realBugFailsTheJobSet", "action": "FailJobSet",
                                    "onJobFailureReasons": ["PodFailurePolicy"]}]


@pytest.mark.parametrize("team, kind", CASES)
def test_team_bucket_is_mounted_through_gcs_fuse(team, kind, dev_capture):
    bucket = dev_capture.named(f"team-{team}-bucket", "gcp:storage/bucket:Bucket").inputs["name"]
    obj = workload(render(DEV, team, kind))
    templates = [obj["spec"]["template"]] if obj["kind"] == "Job" else [
        rj["template"]["spec"]["template"] for rj in obj["spec"]["replicatedJobs"]]
    for template in templates:
        annotations = template["metadata"]["annotations"]
        assert annotations["gke-gcsfuse/volumes"] == "true"
        # Large checkpoints are staged on the node's disk: no sidecar limit may cut a write short.
        assert all(annotations[f"gke-gcsfuse/{r}-limit"] == "0" for r in ("cpu", "memory", "ephemeral-storage"))
        csi = [v["csi"] for v in template["spec"]["volumes"] if "csi" in v]
        assert [(c["driver"], c["volumeAttributes"]["bucketName"]) for c in csi] == [("gcsfuse.csi.storage.gke.io", bucket)]


def test_compact_job_selects_its_own_placement_group():
    """GKE "Define compact placement for GKE nodes": NAP builds a compact pool for pods selecting a
    placement group; one group per job keeps two jobs from sharing one."""
    groups = {workload(render(DEV, "team-a", "compact", name))["spec"]["template"]["spec"]["nodeSelector"][
        "cloud.google.com/gke-placement-group"] for name in ("a", "b")}
    assert len(groups) == 2


def test_jobset_spans_two_nodes_with_dns_hostnames():
    """JobSet creates the headless Service <jobset> when network.enableDNSHostnames is on, so rank 0 is
    <jobset>-worker-0-0.<jobset> (JobSet `network` doc comment)."""
    obj = workload(render(DEV, "team-a", "jobset"))
    assert obj["spec"]["network"]["enableDNSHostnames"] is True
    job = obj["spec"]["replicatedJobs"][0]["template"]["spec"]
    assert job["parallelism"] == job["completions"] == 2
    env = {e["name"]: e.get("value") for e in job["template"]["spec"]["containers"][0]["env"]}
    assert env["MASTER_ADDR"] == "train-jobset-worker-0-0.train-jobset"


def test_cli_renders_yaml_and_rejects_bad_input(capsys, tmp_path):
    assert cli(["workloads", "dev", "--team", "team-a", "--kind", "high"]) == 0
    kinds = [o["kind"] for o in yaml.safe_load_all(capsys.readouterr().out)]
    assert kinds == ["ConfigMap", "Service", "Job"]
    assert cli(["workloads", "dev", "--team", "team-c", "--kind", "dws"]) == 2
    assert "team team-c cannot run a 'dws' workload" in capsys.readouterr().err
    assert cli(["workloads", "dev", "--all", "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*/*.yaml"))) == len(CASES) + 2  # and team-c's model server, team-d's pipeline
