"""The example pipeline `workloads --kind pipeline` renders (components/workloads/pipeline.py).

What it relies on, with sources:
- Kueue v0.19.2 site/content/en/docs/tasks/run/external_workloads/argo_workflow.md: Argo steps are plain
  pods, queue label in `spec.templates[].metadata`, each pod its own Workload;
- Argo v4.0.6 workflow/controller/workflowpod.go createWorkflowPod: the template's container becomes `main`,
  template labels/annotations/priorityClassName/volumes reach the pod, `spec.serviceAccountName` and
  `spec.securityContext` apply when the template sets none;
- Argo v4.0.6 docs/retries.md "Conditional retries": the `lastRetry.*` variables (exitCode a string) and
  "If `expression` evaluates to false, the step will not be retried"; operator.go processNodeRetries
  evaluates it with expr-lang (tests/expr_support.py restates the subset used);
- the failure messages a preempted step leaves (pipeline.py RETRY_EXPRESSION's comment): GKE "Spot VMs"
  graceful shutdown, Kubernetes "Node Shutdowns" ("Pod was terminated in response to imminent node
  shutdown."), Argo operator.go `markNodeError(..., "pod deleted")`, Kueue pod_controller.go `Stop`.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from admission_support import BINDING, TEAM_NS, VAP, admission_review
from components.cli import main as cli
from components.explain import pod_security
from components.kubernetes import argo
from components.kubernetes import render as render_kubernetes
from components.kubernetes.manifest_validation import is_validated, problems
from components.model.quantity import parse_quantity
from components.model import flavors, parse_platform, per_gpu
from components.plan import kubernetes_object
from components.training import contract
from components.training import pipeline as steps
from components.workloads import kinds_for, render
from components.workloads.pipeline import RETRY_EXPRESSION, TRIALS
from conftest import load_dev_platform_raw
from expr_support import ExprError, evaluate

DEV = parse_platform(load_dev_platform_raw())
TEAM_D_NS = {**TEAM_NS, "kubernetes.io/metadata.name": "team-d", "batch-platform/team": "team-d"}


def workflow() -> dict:
    return next(o for o in render(DEV, "team-d", "pipeline") if o["kind"] == "Workflow")


def templates(wf: dict) -> dict[str, dict]:
    return {t["name"]: t for t in wf["spec"]["templates"]}


def step_pod(wf: dict, tmpl: dict) -> dict:
    """The pod spec Argo makes of a template (workflowpod.go; Argo's own init/wait containers left out)."""
    return {"serviceAccountName": tmpl.get("serviceAccountName", wf["spec"]["serviceAccountName"]),
            "securityContext": tmpl.get("securityContext", wf["spec"]["securityContext"]),
            "priorityClassName": tmpl["priorityClassName"], "volumes": tmpl["volumes"],
            "containers": [{**tmpl["container"], "name": "main"}]}


def test_only_teams_granted_pipelines_get_one():
    assert [t.name for t in DEV.teams if "pipeline" in kinds_for(DEV, t)] == ["team-d"]
    assert cli(["workloads", "dev", "--team", "team-a", "--kind", "pipeline"]) == 2


def test_every_object_passes_the_vendored_schemas():
    objs = render(DEV, "team-d", "pipeline")
    assert [o["kind"] for o in objs] == ["ConfigMap", "Workflow"]
    for obj in objs:
        assert is_validated(obj) and problems(obj) == [], obj["kind"]


def test_the_workflow_passes_the_admission_policies_and_a_stripped_step_is_refused(dev_capture):
    policies = [kubernetes_object(r) for r in dev_capture.of_type(VAP)]
    bindings = [kubernetes_object(r) for r in dev_capture.of_type(BINDING)]
    wf = workflow()
    assert admission_review(policies, bindings, wf, TEAM_D_NS) is None
    bad = copy.deepcopy(wf)
    templates(bad)["train"]["metadata"]["labels"].pop("kueue.x-k8s.io/queue-name")
    assert "step template train runs a pod that no queue admits" in admission_review(policies, bindings, bad, TEAM_D_NS)
    bad = copy.deepcopy(wf)
    templates(bad)["publish"]["priorityClassName"] = "high"
    assert "step template publish" in admission_review(policies, bindings, bad, TEAM_D_NS)


def test_every_step_pod_passes_pod_security_restricted_as_the_team_ksa():
    wf = workflow()
    pods = [t for t in wf["spec"]["templates"] if "container" in t]
    assert [t["name"] for t in pods] == ["prep", "train", "evaluate", "publish"]
    for tmpl in pods:
        pod = step_pod(wf, tmpl)
        assert pod_security.violations(pod, "restricted", tmpl["name"]) == []
        assert pod["serviceAccountName"] == "team-d-ksa"
        bucket = next(v for v in tmpl["volumes"] if v["name"] == contract.CHECKPOINT_VOLUME)
        assert bucket["csi"]["volumeAttributes"]["bucketName"].endswith("-team-d")
        assert tmpl["metadata"]["annotations"]["gke-gcsfuse/volumes"] == "true"


def test_steps_are_sized_like_jobs_gpu_steps_a_node_cpu_steps_one_gpu_share():
    wf = workflow()
    flavor = flavors(DEV)["l4-reserved"]  # team-d's low queue lists it first
    by_name = templates(wf)
    gpus = {n: int(by_name[n]["container"]["resources"]["limits"].get("nvidia.com/gpu", 0))
            for n in ("prep", "train", "evaluate", "publish")}
    assert gpus == {"prep": 0, "train": flavor.gpus_per_node, "evaluate": 1, "publish": 0}
    # Kueue builds a plain pod's Workload from the pod itself (pod_controller.go constructPodSet): main + the
    # FUSE sidecar (requests in the annotations) + Argo's wait container (the LimitRange default, because the
    # controller's executor.resources is left empty) is exactly the node share the queue's quota counts.
    # The installed chart's controller config (argo.chart_values) gives the executor no resources.
    assert "resources" not in argo.chart_values(DEV)["executor"]
    wait = render_kubernetes.limit_range(DEV.teams[3])["spec"]["limits"][0]["defaultRequest"]
    share = per_gpu(flavor.machine, flavor.gpu_units_per_node).times(flavor.gpus_per_node)
    train = by_name["train"]
    main = train["container"]["resources"]["requests"]
    side = train["metadata"]["annotations"]
    assert (parse_quantity(main["cpu"]) + parse_quantity(side["gke-gcsfuse/cpu-request"]) + parse_quantity(wait["cpu"])
            == Decimal(share.cpu_millis) / 1000)
    mib = sum(parse_quantity(q) for q in (main["memory"], side["gke-gcsfuse/memory-request"], wait["memory"])) / 2**20
    assert mib == share.memory_mib


def test_fan_out_trains_each_trial_resumably_in_its_own_bucket_directory():
    wf = workflow()
    dag = templates(wf)["main"]["dag"]["tasks"]
    assert [(t["name"], t.get("dependencies", [])) for t in dag] == [
        ("prep", []), ("train", ["prep"]), ("evaluate", ["train"]), ("publish", ["evaluate"])]
    assert dag[1]["withItems"] == list(TRIALS)
    env = {e["name"]: e.get("value") for e in templates(wf)["train"]["container"]["env"]}
    # Stable across retries (workflow name + trial), so a retried trial resumes from its checkpoint.
    assert env["CHECKPOINT_DIR"] == "/data/checkpoints/{{workflow.name}}/steps-{{inputs.parameters.steps}}"
    assert env["TRAIN_STEPS"] == "{{inputs.parameters.steps}}"
    evaluate_cmd = templates(wf)["evaluate"]["container"]["command"]
    assert evaluate_cmd[-len(TRIALS):] == [f"/data/checkpoints/{{{{workflow.name}}}}/steps-{t}" for t in TRIALS]
    artifact = templates(wf)["evaluate"]["outputs"]["artifacts"][0]
    assert artifact["gcs"] == {"bucket": "my-gpu-batch-dev-batch-dev-team-d", "key": "pipelines/{{workflow.name}}/eval.json"}


def _retried(exit_code: str = "-1", message: str = "", status: str = "Failed") -> bool:
    # buildRetryStrategyLocalScope: every lastRetry value is a string; expand.Expand nests the dotted names.
    return evaluate(RETRY_EXPRESSION, {"lastRetry": {"exitCode": exit_code, "message": message, "status": status,
                                                     "duration": "120"}})


@pytest.mark.parametrize("case, retried", [
    # spot reclaim / node drain: kubelet's graceful shutdown message becomes the node message
    (dict(message="Pod was terminated in response to imminent node shutdown."), True),
    # the pod deleted under the step (Kueue preempting the plain pod, node deleted)
    (dict(message="pod deleted", status="Error"), True),
    # the trainer's own "stopped after a checkpoint" exit, and a step killed by SIGTERM
    (dict(exit_code="75", message="main: Error (exit code 75)"), True),
    (dict(exit_code="143", message="main: Error (exit code 143)"), True),
    # code errors: a traceback, the trainer's bad configuration, OOMKilled, a failed step of its own
    (dict(exit_code="1", message="main: Error (exit code 1)"), False),
    (dict(exit_code="2", message="main: Error (exit code 2)"), False),
    (dict(exit_code="137", message="main: OOMKilled (exit code 137)"), False),
    (dict(exit_code="-1", message="can't find failed message for pod p namespace team-d"), False),
])
def test_retries_only_preemption_like_failures(case, retried):
    assert _retried(**case) is retried


def test_the_retry_strategy_leaves_the_decision_to_the_expression():
    for tmpl in (t for t in workflow()["spec"]["templates"] if "container" in t):
        strategy = tmpl["retryStrategy"]
        assert strategy["retryPolicy"] == "Always" and strategy["expression"] == RETRY_EXPRESSION
        assert "maxDuration" not in strategy["backoff"]  # it would become the pods' activeDeadlineSeconds


def test_the_evaluator_refuses_what_it_does_not_understand():
    with pytest.raises(ExprError):
        evaluate("lastRetry.message matches 'x'", {"lastRetry": {"message": ""}})


def test_prep_evaluate_publish_write_the_run_the_report_and_the_model(tmp_path):
    from components.training.checkpoints import CheckpointDir

    trials = {name: tmp_path / "checkpoints" / name for name in ("steps-200", "steps-400")}
    for i, directory in enumerate(trials.values()):
        CheckpointDir(directory).write(10 * (i + 1), f"model-{i}".encode())
    run = tmp_path / "pipelines" / "wf"
    assert steps.prep(run, ["200", "400"]) == {"trials": ["200", "400"]}
    losses = {b"model-0": 0.5, b"model-1": 0.25}
    winner = steps.evaluate(run, list(trials.values()), 0, score=lambda payload, seed: losses[payload])
    assert winner == str(trials["steps-400"])
    assert json.loads((run / "eval.json").read_text())["best"] == winner
    published = steps.publish(run / "eval.json", tmp_path / "models" / "wf")
    assert CheckpointDir(published.parent).latest() == (20, b"model-1")
    assert steps.main(["publish", str(tmp_path / "missing.json"), str(tmp_path / "m")]) == contract.EXIT_BAD_CONFIG
    assert steps.main(["evaluate", str(run), str(tmp_path / "empty")]) == contract.EXIT_BAD_CONFIG
    assert steps.main([]) == contract.EXIT_BAD_CONFIG


def test_a_team_with_datasets_reads_them_in_every_step():
    raw = load_dev_platform_raw()
    next(t for t in raw["teams"] if t["name"] == "team-d")["datasets"] = {"sizeGi": 1024}
    wf = next(o for o in render(parse_platform(raw), "team-d", "pipeline") if o["kind"] == "Workflow")
    for tmpl in (t for t in wf["spec"]["templates"] if "container" in t):
        assert {"name": "datasets", "mountPath": "/datasets", "readOnly": True} in tmpl["container"]["volumeMounts"]
        assert {"name": "datasets", "persistentVolumeClaim": {"claimName": "datasets", "readOnly": True}} in tmpl["volumes"]
        assert problems(wf) == []
