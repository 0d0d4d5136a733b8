"""`explain` for an Argo Workflow: a verdict per step pod, stage by stage (components/explain/workflow.py).

Behaviour relied on: Kueue v0.19.2 argo_workflow.md (each step pod is its own Workload via the plain-pod
integration; earlier steps run while a later one waits); Argo v4.0.6 operator.go executeTemplate (which
templates make pods), workflowpod.go createWorkflowPod (labels, priority, securityContext precedence),
dag `dependencies`/`depends` and `withItems`/`withParam` fan-out, `parallelism`; the workflow
queue/priority ValidatingAdmissionPolicy (components/kubernetes/admission.py).
"""

from __future__ import annotations

import copy
import re
import shlex
import time

import pytest
import yaml

from components.capture import REPO
from components.cli import main as cli
from components.explain import from_capture
from components.explain.workflow import workflow_steps
from components.explain.workload import WorkloadError
from components.model import parse_platform
from components.workloads import render
from conftest import load_dev_platform_raw

DEV = parse_platform(load_dev_platform_raw())


@pytest.fixture
def argo_installed(dev_capture):
    """The step pods' init/wait containers take the installed chart's executor settings (securityContext):
    without the chart in the stack there is nothing to admit them under Pod Security restricted."""
    from components.cli.explain import _argo_executor

    if _argo_executor(dev_capture) is None:
        pytest.skip("the dev stack installs no Argo Workflows chart in this tree")


def rendered() -> dict:
    return next(o for o in render(DEV, "team-d", "pipeline") if o["kind"] == "Workflow")


def write(tmp_path, obj, name="wf.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(obj if isinstance(obj, list) else [obj], sort_keys=False))
    return str(path)


def test_the_rendered_pipeline_is_admitted_step_by_step(argo_installed, capsys):
    assert cli(["explain", "dev", "--team", "team-d", "--kind", "pipeline"]) == 0
    out = capsys.readouterr().out
    assert "4 pod step(s), 6 pod(s) queued" in out
    assert "[stage 2] step main/train (template train): 3 pod(s), withItems: 3 items" in out
    # low borrows team-c/d-high's idle reserved GPUs for the first trial, the rest fit low's own spot quota.
    assert "ADMITTED: Pod team-d/train-pipeline-train is admitted (cycle 1) on flavor l4-reserved (borrowing" in out
    assert "pod 3: ADMITTED: Pod team-d/train-pipeline-train-2 is admitted (cycle 3) on flavor l4-spot" in out
    assert "[stage 4] step main/publish" in out and "nvidia.com/gpu" not in out.split("[stage 4]")[1]


def test_steps_follow_the_dag_and_count_the_fan_out():
    steps = workflow_steps(rendered(), executor={})
    assert [(s.stage, s.template, s.pods) for s in steps] == [(1, "prep", 1), (2, "train", 3), (3, "evaluate", 1),
                                                                  (4, "publish", 1)]
    # Argo's init and wait containers are in every step pod (the LimitRange default applies to them), and
    # GKE's FUSE sidecar, a native sidecar ahead of init (tests/explain/test_explain_gcsfuse.py).
    spec = steps[1].workloads[0].pod_sets[0].spec
    assert [c["name"] for c in spec["containers"]] == ["main", "wait"]
    assert [c["name"] for c in spec["initContainers"]] == ["gke-gcsfuse-sidecar", "init"]


def test_parallelism_caps_the_fan_out_and_with_param_is_unknowable():
    wf = rendered()
    wf["spec"]["templates"][0]["parallelism"] = 2
    train = next(s for s in workflow_steps(wf, executor={}) if s.template == "train")
    assert train.pods == 2 and "2 at a time (parallelism)" in train.count_note
    wf = rendered()
    task = wf["spec"]["templates"][0]["dag"]["tasks"][1]
    del task["withItems"]
    task["withParam"] = "{{tasks.prep.outputs.result}}"
    train = next(s for s in workflow_steps(wf, executor={}) if s.template == "train")
    assert train.pods == 1 and "decided when the workflow runs" in train.count_note
    task["withParam"] = '["a", "b"]'
    assert next(s for s in workflow_steps(wf, executor={}) if s.template == "train").pods == 2


def _train_with(**fan_out) -> dict:
    wf = rendered()
    task = wf["spec"]["templates"][0]["dag"]["tasks"][1]
    del task["withItems"]
    task.update(fan_out)
    return wf


def _train_step(wf: dict):
    return next(s for s in workflow_steps(wf, executor={}) if s.template == "train")


def test_sequences_count_as_argo_expands_them_without_building_the_items():
    """Argo v4.0.6 operator.go expandSequence: count 0 is no item (the step is skipped), end = start +
    count - 1, a start above the end counts down; the count is read, never expanded, so 10^9 costs nothing."""
    wf = _train_with(withSequence={"count": "1000000000"})
    wf["spec"]["parallelism"] = 2
    started = time.monotonic()
    train = _train_step(wf)
    assert (train.pods, train.count_note) == (2, "withSequence count 1000000000, 2 at a time (parallelism)")
    assert time.monotonic() - started < 1
    assert _train_step(_train_with(withSequence={"start": "10", "end": "1"})).pods == 10
    assert _train_step(_train_with(withSequence={"start": "2", "end": "4"})).pods == 3
    skipped = _train_step(_train_with(withSequence={"count": 0}))
    assert (skipped.pods, skipped.workloads) == (0, []) and "Argo skips an empty fan-out" in skipped.count_note
    assert _train_step(_train_with(withSequence={"count": "{{workflow.parameters.n}}"})).pods == 1


def test_a_fan_out_of_a_dag_template_multiplies_its_steps_fan_out():
    """A task fanned out over a dag template runs that dag once per item, so each of its pod steps
    (itself fanned out) is queued items x items times, capped by the enclosing parallelism."""
    wf = rendered()
    wf["spec"]["templates"].append({"name": "trials", "dag": {"tasks": [
        {"name": "t", "template": "train", "withItems": ["200", "400"]}]}})
    wf["spec"]["templates"][0]["dag"]["tasks"][1].update(template="trials", withItems=["a", "b", "c"])
    train = _train_step(wf)
    assert (train.task, train.pods) == ("main/train/t", 6)
    assert train.count_note == "withItems: 2 items, x 3 (its dag/steps template is fanned out)"
    wf["spec"]["templates"][-1]["parallelism"] = 4
    assert _train_step(wf).pods == 4


def test_steps_groups_run_in_order_and_depends_expressions_are_read():
    wf = rendered()
    wf["spec"]["templates"][0] = {"name": "main", "steps": [[{"name": "p", "template": "prep"}],
                                                            [{"name": "a", "template": "train"},
                                                             {"name": "b", "template": "evaluate"}],
                                                            [{"name": "c", "template": "publish"}]]}
    assert [(s.stage, s.task) for s in workflow_steps(wf, executor={})] == [
        (1, "main/p"), (2, "main/a"), (2, "main/b"), (3, "main/c")]
    wf = rendered()
    tasks = wf["spec"]["templates"][0]["dag"]["tasks"]
    tasks[3].pop("dependencies")
    tasks[3]["depends"] = "evaluate.Succeeded && (train || prep)"
    assert [s.stage for s in workflow_steps(wf, executor={})] == [1, 2, 3, 4]


def test_a_step_without_its_queue_is_refused_by_the_admission_policy(tmp_path, capsys):
    wf = rendered()
    wf["spec"]["templates"][2]["metadata"]["labels"].pop("kueue.x-k8s.io/queue-name")
    assert cli(["explain", "dev", write(tmp_path, wf)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED: Workflow team-d/train-pipeline is rejected at submission by a ValidatingAdmissionPolicy" in out
    assert "step template train runs a pod that no queue admits" in out


def test_a_step_that_breaks_pod_security_or_waits_for_quota_is_named(argo_installed, tmp_path, capsys):
    wf = rendered()
    wf["spec"]["templates"][2]["container"]["securityContext"] = {}
    assert cli(["explain", "dev", write(tmp_path, wf)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED: Pod team-d/train-pipeline-train's pods are rejected at creation by Pod Security" in out
    wf = rendered()
    wf["spec"]["templates"][0]["dag"]["tasks"][1]["withItems"] = [str(i) for i in range(12)]
    assert cli(["explain", "dev", write(tmp_path, wf)]) == 1
    out = capsys.readouterr().out
    assert "12 pod(s), withItems: 12 items" in out and "PENDING" in out  # more nodes than low can hold


@pytest.mark.parametrize("change, says", [
    (lambda wf: wf["spec"].update(templates="nope"), "spec.templates is a string; it must be a list of templates"),
    (lambda wf: wf["spec"].pop("entrypoint"), "spec.entrypoint is missing"),
    (lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][1].update(template="trian"),
     "spec.templates[0].dag.tasks[1]: template 'trian' is not in spec.templates"),
    (lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][1].update(dependencies=["nothing"]),
     "dependency 'nothing' is not a task of this dag"),
    (lambda wf: wf["spec"]["templates"][0]["dag"]["tasks"][0].update(dependencies=["publish"]),
     "dependency cycle (each waits for the next): evaluate -> train -> prep -> publish -> evaluate"),
    (lambda wf: wf["spec"]["templates"][1]["container"].update(resources={"requests": {"cpu": "lots"}}),
     "'lots' is not a Kubernetes quantity"),
    (lambda wf: wf["spec"].update(workflowTemplateRef={"name": "elsewhere"}, templates=[]),
     "WorkflowTemplate 'elsewhere' is not in the file"),
])
def test_bad_workflows_exit_2_naming_file_object_and_path(tmp_path, capsys, change, says):
    wf = rendered()
    change(wf)
    path = write(tmp_path, wf)
    assert cli(["explain", "dev", path]) == 2
    err = capsys.readouterr().err
    assert says in err and path in err and "Workflow team-d/train-pipeline" in err, err


def test_a_workflow_template_ref_is_read_from_the_same_file(argo_installed, tmp_path, capsys):
    template = copy.deepcopy(rendered())
    template["kind"] = "WorkflowTemplate"
    runner = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
              "metadata": {"name": "nightly", "namespace": "team-d"},
              "spec": {"workflowTemplateRef": {"name": "train-pipeline"}}}
    assert cli(["explain", "dev", write(tmp_path, [template, runner])]) == 0
    assert "Workflow team-d/nightly: 4 pod step(s)" in capsys.readouterr().out


def test_one_workflow_per_file(tmp_path, capsys):
    job = next(o for o in render(DEV, "team-d", "low") if o["kind"] == "Job")
    assert cli(["explain", "dev", write(tmp_path, [rendered(), job])]) == 2
    assert "one Argo Workflow (or WorkflowTemplate) per file" in capsys.readouterr().err


def test_the_docs_pipeline_commands_run_verbatim(argo_installed, tmp_path, monkeypatch, capsys):
    """docs/teams.md "Submit a pipeline": its CLI lines, run as written (stdout redirections included)."""
    text = (REPO / "docs" / "teams.md").read_text()
    section = text[text.index("### Submit a pipeline"):text.index("### Team data")]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    lines = [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("$PY -m components.cli ")]
    assert len(lines) == 2
    monkeypatch.chdir(tmp_path)
    for line in lines:
        command, _, target = line.partition(">")
        code = cli(shlex.split(command)[3:])
        out = capsys.readouterr().out
        if target.strip():
            (tmp_path / target.strip()).write_text(out)
        assert code == 0, (line, out)
    assert "[stage 4] step main/publish" in out


def test_explaining_a_workflow_runs_the_program_once(argo_installed, tmp_path, capsys, monkeypatch):
    """The stack is planned once per explain: its warnings (dev warns about its authorized networks) are said
    once, as for a Job (it was planned a second time to read the Argo executor's settings)."""
    from components.cli import stack as cli_stack
    runs = []
    real = cli_stack.run_stack
    monkeypatch.setattr(cli_stack, "run_stack", lambda loaded: runs.append(loaded) or real(loaded))
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(rendered()))
    assert cli(["explain", "dev", str(path)]) == 0
    assert len(runs) == 1
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings and len(warnings) == len(set(warnings))


def _train_in_a_library(pod_labels: dict) -> tuple[dict, dict]:
    """The rendered workflow with its train template moved into WorkflowTemplate `trainers` (whose
    podMetadata carries `pod_labels`), the train task calling it through templateRef."""
    wf = rendered()
    train = next(t for t in wf["spec"]["templates"] if t["name"] == "train")
    wf["spec"]["templates"].remove(train)
    task = next(t for t in wf["spec"]["templates"][0]["dag"]["tasks"] if t["name"] == "train")
    task.pop("template")
    task["templateRef"] = {"name": "trainers", "template": "train"}
    library = {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
               "metadata": {"name": "trainers", "namespace": "team-d"},
               # the step pods' account must be the team's (the policies check a WorkflowTemplate too)
               "spec": {"serviceAccountName": wf["spec"]["serviceAccountName"], "podMetadata": {"labels": pod_labels},
                        "templates": [train]}}
    return wf, library


def test_a_template_ref_is_followed_into_a_workflow_template_of_the_same_file():
    """Argo v4.0.6 workflow/templateresolution/context.go: GetTemplateFromRef takes the named template of the
    named WorkflowTemplate and addPodMetadata adds that WorkflowTemplate's podMetadata where the template sets
    no such key; the step's pods are those of the same template written inline."""
    wf, library = _train_in_a_library({"kueue.x-k8s.io/queue-name": "high", "owner": "trainers"})
    inline = workflow_steps(rendered(), executor={})
    steps = workflow_steps(wf, (wf, library), executor={})
    assert [(s.stage, s.template, s.pods) for s in steps] == [(1, "prep", 1), (2, "trainers.train", 3),
                                                              (3, "evaluate", 1), (4, "publish", 1)]
    [mine, theirs] = [s.workloads[0].pod_sets[0].spec for s in (steps[1], inline[1])]
    assert mine == theirs
    labels = steps[1].workloads[0].labels
    # the template's own queue label wins over the library's podMetadata; a key it lacks is added
    assert labels["kueue.x-k8s.io/queue-name"] == "low" and labels["owner"] == "trainers"
    assert "owner" not in steps[0].workloads[0].labels  # the workflow's own templates do not get it


def test_explain_follows_a_template_ref_like_the_inline_template(argo_installed, tmp_path, capsys):
    wf, library = _train_in_a_library({})
    assert cli(["explain", "dev", write(tmp_path, [wf, library])]) == 0
    out = capsys.readouterr().out
    assert "4 pod step(s), 6 pod(s) queued" in out
    assert "[stage 2] step main/train (template trainers.train): 3 pod(s), withItems: 3 items" in out
    assert "pod 3: ADMITTED: Pod team-d/train-pipeline-train-2 is admitted (cycle 3) on flavor l4-spot" in out


def test_a_referenced_workflow_template_the_policies_refuse_is_rejected(argo_installed, tmp_path, capsys):
    """A WorkflowTemplate passes the same admission policies when it is created: one whose template lacks
    the queue label cannot exist, so the workflow that calls it is rejected."""
    wf, library = _train_in_a_library({})
    del library["spec"]["templates"][0]["metadata"]["labels"]["kueue.x-k8s.io/queue-name"]
    assert cli(["explain", "dev", write(tmp_path, [wf, library])]) == 1
    out = capsys.readouterr().out
    assert ("REJECTED: WorkflowTemplate trainers (in the file, for Workflow team-d/train-pipeline's templateRefs) is "
            "rejected at submission by a ValidatingAdmissionPolicy") in out and "queue-name" in out, out


def test_a_file_of_workflow_templates_explains_the_first(argo_installed, tmp_path, capsys):
    wf, library = _train_in_a_library({})
    wf["kind"] = "WorkflowTemplate"
    assert cli(["explain", "dev", write(tmp_path, [wf, library])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("WorkflowTemplate team-d/train-pipeline: 4 pod step(s)") and "(template trainers.train)" in out


def test_workflow_templates_passed_with_the_file_are_followed(argo_installed, tmp_path, capsys):
    """explain --templates FILE: the WorkflowTemplates a workflow references, from a file of their own."""
    wf, library = _train_in_a_library({})
    flow, lib = write(tmp_path, wf), write(tmp_path, library, "lib.yaml")
    assert cli(["explain", "dev", flow]) == 2
    assert "WorkflowTemplate 'trainers' is not in the file" in capsys.readouterr().err
    assert cli(["explain", "dev", flow, "--templates", lib]) == 0
    assert "(template trainers.train): 3 pod(s)" in capsys.readouterr().out


@pytest.mark.parametrize("args, says", [
    (["--templates", "{wf}"], "holds no WorkflowTemplate"),  # a Workflow is not a library
    (["--templates", "{job}"], "holds no WorkflowTemplate"),
])
def test_templates_files_that_hold_no_workflow_template_are_refused(tmp_path, capsys, args, says):
    wf, _ = _train_in_a_library({})
    job = next(o for o in render(DEV, "team-a", "low") if o["kind"] == "Job")
    files = {"wf": write(tmp_path, wf), "job": write(tmp_path, job, "job.yaml")}
    assert cli(["explain", "dev", files["wf"], *(a.format(**files) for a in args)]) == 2
    assert says in capsys.readouterr().err


def test_templates_with_a_job_file_are_refused(tmp_path, capsys):
    _, library = _train_in_a_library({})
    job = next(o for o in render(DEV, "team-a", "low") if o["kind"] == "Job")
    assert cli(["explain", "dev", write(tmp_path, job), "--templates", write(tmp_path, library, "lib.yaml")]) == 2
    assert "FILE holds no Argo Workflow or WorkflowTemplate; fix: drop --templates" in capsys.readouterr().err


def _nightly(spec: dict) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
            "metadata": {"name": "train-nightly", "namespace": "team-d"},
            "spec": {"schedules": ["0 2 * * *"], "concurrencyPolicy": "Forbid", "workflowSpec": spec}}


def test_a_cronworkflow_is_admitted_as_itself_and_explained_as_the_workflow_it_creates(argo_installed, tmp_path,
                                                                                        capsys):
    """Argo v4.0.6 workflow/cron/operator.go run -> common/convert.go toWorkflow: each schedule creates a Workflow
    whose spec is spec.workflowSpec; the CronWorkflow itself passes the cronworkflows admission policy."""
    path = write(tmp_path, _nightly(rendered()["spec"]), "nightly.yaml")
    assert cli(["explain", "dev", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CronWorkflow team-d/train-nightly: 4 pod step(s), 6 pod(s) queued")
    assert "each schedule creates this Workflow (spec.workflowSpec)" in out and "[stage 4] step main/publish" in out
    wrong = copy.deepcopy(rendered()["spec"])
    wrong["templates"][1]["priorityClassName"] = "high"  # prep on the low queue at high's priority
    assert cli(["explain", "dev", str(write(tmp_path, _nightly(wrong), "bad.yaml"))]) == 1
    out = capsys.readouterr().out
    assert "REJECTED: CronWorkflow team-d/train-nightly is rejected at submission" in out
    assert "queue-priority-cronworkflows" in out and "spec.workflowSpec.podPriorityClassName" in out


def test_a_cronworkflow_without_its_workflow_spec_is_bad_input(tmp_path, capsys):
    path = write(tmp_path, {**_nightly({}), "spec": {"schedules": ["0 2 * * *"]}}, "nightly.yaml")
    assert cli(["explain", "dev", str(path)]) == 2
    assert "CronWorkflow team-d/train-nightly: spec.workflowSpec is missing; fix:" in capsys.readouterr().err
