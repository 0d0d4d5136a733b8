"""Bad input on the pipeline, model-server and fleet surfaces, run like tests/tools/test_bad_input.py
(same harness and bound): `explain <stack> wf.yaml` on a broken Argo Workflow, the `pipelines`/`serving`
config keys and a fleet worker's manager file. Each is refused with exit 2 naming the file, the object,
the field path and the fix; never a traceback, a hang or a silent acceptance.

What Argo itself refuses or does with each shape is cited in components/explain/workflow_check.py
(Argo v4.0.6 validate.go, ancestry.go, operator.go expandSequence/checkParallelism, controller.go
maxAllowedStackDepth); explain's own bounds (MAX_CALLS, MAX_PODS) are named in the message.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Callable

import pytest
import yaml

from components.model import parse_platform
from components.model.errors import ConfigError
from components.model.load import parse_platform as parse_in
from components.workloads import render
from conftest import load_dev_platform_raw
from test_bad_input import PLATFORM, Case, _set, _with_platform, refused_clearly, served  # noqa: F401 - fixture

DEV = parse_platform(load_dev_platform_raw())
FLOW = next(o for o in render(DEV, "team-d", "pipeline") if o["kind"] == "Workflow")
WF = ("wf.yaml", "Workflow team-d/train-pipeline")  # what every workflow refusal names


def _wf(change: Callable[[dict], object]) -> Callable[[Path], list[str]]:
    def argv(tmp: Path) -> list[str]:
        wf = copy.deepcopy(FLOW)
        extra = change(wf)  # a list: the WorkflowTemplates given in the same file
        docs = [wf, *(extra if isinstance(extra, list) else [])]
        path = tmp / "wf.yaml"
        quick = len(str(docs)) > 100_000  # JSON is YAML, and quick
        path.write_text("\n---\n".join(json.dumps(d) if quick else yaml.safe_dump(d) for d in docs))
        return ["explain", "dev", str(path)]
    return argv


def _t(wf: dict, i: int) -> dict:
    return wf["spec"]["templates"][i]


def _task(i: int, **fields) -> Callable[[dict], None]:
    return lambda wf: _t(wf, 0)["dag"]["tasks"][i].update(fields)


def _train(**fields) -> Callable[[dict], None]:
    """The fan-out task `train`, its withItems replaced by `fields`."""
    def change(wf: dict) -> None:
        task = _t(wf, 0)["dag"]["tasks"][1]
        task.pop("withItems")
        task.update(fields)
    return change


def _depends(expr) -> Callable[[dict], None]:
    def change(wf: dict) -> None:
        task = _t(wf, 0)["dag"]["tasks"][1]
        task.pop("dependencies")
        task["depends"] = expr
    return change


def _chain(n: int, kind: str, fan: int = 1) -> Callable[[dict], None]:
    """`n` templates, each calling the next (`fan` times in one steps group), the last the prep container."""
    def change(wf: dict) -> None:
        leaf = {**copy.deepcopy(_t(wf, 1)), "name": f"t{n}"}
        if kind == "dag":
            tasks = [{"name": f"x{i}", "template": "prep", "dependencies": [f"x{i - 1}"] if i else []} for i in range(n)]
            wf["spec"]["templates"][0]["dag"]["tasks"] = tasks
            return
        wf["spec"]["templates"] = [{"name": f"t{i}", "steps": [[{"name": f"s{j}", "template": f"t{i + 1}"}
                                                                 for j in range(fan)]]} for i in range(n)] + [leaf]
        wf["spec"]["entrypoint"] = "t0"
    return change


TASK0, TASK1 = "spec.templates[0].dag.tasks[0]", "spec.templates[0].dag.tasks[1]"


def _lib(*templates: dict, name: str = "lib", **spec) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
            "metadata": {"name": name, "namespace": "team-d"}, "spec": {"templates": list(templates), **spec}}


def _ref(name: str, template: str, **more) -> dict:
    return {"templateRef": {"name": name, "template": template, **more}}


def _calls(*libs: dict, **ref) -> Callable[[dict], list[dict]]:
    """The prep task calls, through `templateRef` (`ref`), a template of WorkflowTemplates `libs` given in
    the same file (Argo v4.0.6 workflow/templateresolution/context.go GetTemplateFromRef)."""
    def change(wf: dict) -> list[dict]:
        task = _t(wf, 0)["dag"]["tasks"][0]
        task.pop("template")
        task["templateRef"] = ref
        return [copy.deepcopy(lib) for lib in libs]
    return change


def _prep(name: str, **fields) -> dict:
    return {**copy.deepcopy(next(t for t in FLOW["spec"]["templates"] if t["name"] == "prep")), "name": name, **fields}


def _steps(name: str, *calls: dict) -> dict:
    return {"name": name, "steps": [[{"name": f"s{i}", **c} for i, c in enumerate(calls)]]}


def _ref_chain(n: int, fan: int = 1) -> list[dict]:
    """`n` WorkflowTemplates, each one's template calling the next's through templateRef (`fan` times), the
    last a prep container."""
    return [_lib(_steps("t", *[_ref(f"l{i + 1}", "t")] * fan), name=f"l{i}") for i in range(n)] + [
        _lib(_prep("t"), name=f"l{n}")]


# templateRef: followed into the file's WorkflowTemplates; cycles, bounds and shapes as within one workflow.
BAD_REFS = [
    ("ref-cycle-in-template", _calls(_lib(_steps("a", _ref("lib", "b")), _steps("b", _ref("lib", "a"))), name="lib",
                                     template="a"), "template 'lib.a' calls itself (lib.a -> lib.b -> lib.a)"),
    ("ref-cycle-across-templates", _calls(_lib(_steps("a", _ref("two", "b"))), _lib(_steps("b", _ref("lib", "a")),
                                                                                        name="two"), name="lib", template="a"),
     "calls itself (lib.a -> two.b -> lib.a)"),
    ("ref-self-by-name", _calls(_lib(_steps("a", {"template": "a"})), name="lib", template="a"),
     "template 'lib.a' calls itself (lib.a -> lib.a)"),
    ("ref-nesting-over-argo-depth", _calls(*_ref_chain(150), name="l0", template="t"), "templates nest more than 100 deep"),
    ("ref-exponential-expansion", _calls(*_ref_chain(40, fan=2), name="l0", template="t"),
     "more than 1,000 step pods to explain"),
    ("ref-pods-add-up-across-references", _calls(_lib(_steps("a", _ref("lib", "fan"), _ref("two", "fan")),
                                                      _steps("fan", {"template": "p", "withSequence": {"count": "600"}}),
                                                      _prep("p")),
                                                 _lib(_steps("fan", {"template": "p", "withSequence": {"count": "600"}}),
                                                      _prep("p"), name="two"), name="lib", template="a"),
     "more than 1,000 step pods to explain (600 queued at once"),
    ("ref-cluster-scope", _calls(_lib(_prep("p")), name="lib", template="p", clusterScope=True),
     f"{TASK0}.templateRef.clusterScope: true names a ClusterWorkflowTemplate, which this platform does not install"),
    ("ref-cluster-scope-string", _calls(_lib(_prep("p")), name="lib", template="p", clusterScope="yes"),
     f"{TASK0}.templateRef.clusterScope is a string"),
    ("ref-and-template", lambda wf: (_t(wf, 0)["dag"]["tasks"][0].update(templateRef={"name": "lib", "template": "p"}),
                                     [_lib(_prep("p"))])[1], "template and templateRef are both set"),
    ("ref-no-template", _calls(_lib(_prep("p")), name="lib"), "a templateRef needs both name and template"),
    ("ref-name-int", _calls(_lib(_prep("p")), name=5, template="p"), f"{TASK0}.templateRef.name is int"),
    ("ref-string", lambda wf: (_t(wf, 0)["dag"]["tasks"][0].pop("template"),
                               _t(wf, 0)["dag"]["tasks"][0].update(templateRef="lib/p"), [_lib(_prep("p"))])[2],
     f"{TASK0}.templateRef is a string"),
    ("ref-unknown-template", _calls(_lib(_prep("p")), name="lib", template="q"),
     "template 'q' is not in spec.templates of WorkflowTemplate lib; fix: name one of p"),
    ("ref-other-namespace", _calls({**_lib(_prep("p")), "metadata": {"name": "lib", "namespace": "team-a"}}, name="lib",
                                   template="p"), "is in namespace 'team-a', the workflow in 'team-d'"),
    ("ref-library-templates-string", _calls(_lib(name="lib") | {"spec": {"templates": "p"}}, name="lib", template="p"),
     "WorkflowTemplate lib spec.templates is a string"),
    ("ref-library-duplicate-names", _calls(_lib(_prep("p"), _prep("p")), name="lib", template="p"),
     "WorkflowTemplate lib: spec.templates[1].name 'p' is not unique"),
    ("ref-library-bad-dag", _calls(_lib({"name": "d", "dag": {"tasks": [{"name": "x", "template": "x",
                                                                        "dependencies": ["x"]}]}}), name="lib", template="d"),
     "WorkflowTemplate lib spec.templates[0]"),
]

# (id, change, fragment of the refusal): shape, Argo's own validation, and the bounds on what explain expands.
BAD_WORKFLOWS = [
    ("self-reference", _task(0, template="main"), "template 'main' calls itself (main -> main)"),
    ("steps-self-reference", lambda wf: wf["spec"]["templates"].__setitem__(0, {"name": "main", "steps": [[
        {"name": "a", "template": "main"}]]}), "spec.templates[0].steps[0][0]: template 'main' calls itself"),
    ("mutual-recursion", lambda wf: (wf["spec"]["templates"].extend([
        {"name": "x", "steps": [[{"name": "a", "template": "y"}]]}, {"name": "y", "steps": [[{"name": "b", "template": "x"}]]}]),
        wf["spec"].update(entrypoint="x")), "calls itself (x -> y -> x)"),
    ("dag-cycle", _task(0, dependencies=["publish"]), "dependency cycle (each waits for the next)"),
    ("dag-self-dependency", _task(0, dependencies=["prep"]), "dependency cycle (each waits for the next): prep -> prep"),
    ("depends-cycle", lambda wf: (_depends("publish.Succeeded")(wf)), "dependency cycle"),
    ("nesting-over-argo-depth", _chain(150, "steps"), "templates nest more than 100 deep"),
    ("exponential-expansion", _chain(40, "steps", fan=2), "more than 1,000 step pods to explain"),
    ("dag-10k-tasks", _chain(10_000, "dag"), "more than 1,000 step pods to explain"),
    ("sequence-1e9", _train(withSequence={"count": "1000000000"}), "1,000,000,000 queued at once for this step"),
    ("sequence-1e9-int", _train(withSequence={"count": 1_000_000_000}), "set parallelism on the template"),
    ("items-1e5", _task(1, withItems=list(range(100_000))), "100,000 queued at once"),
    ("param-1e5", _train(withParam=json.dumps(list(range(100_000)))), "100,000 queued at once"),
    ("sequence-negative", _train(withSequence={"count": "-5"}), f"{TASK1}.withSequence.count is -5"),
    ("sequence-count-and-end", _train(withSequence={"count": "3", "end": "5"}), "has both count and end"),
    ("sequence-neither", _train(withSequence={"start": "1"}), "has neither count nor end"),
    ("sequence-float", _train(withSequence={"count": "2.5"}), "'2.5', not an integer"),
    ("sequence-bool", _train(withSequence={"count": True}), f"{TASK1}.withSequence.count is bool"),
    ("sequence-list", _train(withSequence={"count": [3]}), f"{TASK1}.withSequence.count is list"),
    ("sequence-string", _train(withSequence="3"), f"{TASK1}.withSequence is a string"),
    ("items-string", _task(1, withItems="abc"), f"{TASK1}.withItems is a string"),
    ("param-int", _train(withParam=5), f"{TASK1}.withParam is int"),
    ("depends-malformed", _depends("prep &&& (("), f"{TASK1}.depends 'prep &&& ((' does not parse"),
    ("depends-unclosed", _depends("(prep"), "it ends unclosed"),
    ("depends-dangling-operator", _depends("prep &&"), "it ends after an operator"),
    ("depends-stray-paren", _depends("prep)"), "a ')' closes nothing"),
    ("depends-bad-result", _depends("prep.Exploded"), "task result 'Exploded' for task 'prep' is invalid"),
    ("depends-unknown-task", _depends("prepp"), "dependency 'prepp' is not a task of this dag"),
    ("depends-int", _depends(5), f"{TASK1}.depends is int"),
    ("depends-and-dependencies", _task(1, depends="prep"), "has both depends and dependencies"),
    ("dependencies-string", _task(1, dependencies="prep"), f"{TASK1}.dependencies is a string"),
    ("dependencies-int-item", _task(1, dependencies=[1]), f"{TASK1}.dependencies[0] is int"),
    ("templates-mapping", lambda wf: wf["spec"].update(templates={"main": {}}), "spec.templates is a mapping"),
    ("templates-empty", lambda wf: wf["spec"].update(templates=[]), "template 'main' is not in spec.templates"),
    ("template-string", lambda wf: wf["spec"]["templates"].__setitem__(1, "prep"), "spec.templates[1] is a string"),
    ("template-no-name", lambda wf: _t(wf, 1).pop("name"), "spec.templates[1].name is missing"),
    ("template-name-int", lambda wf: _t(wf, 1).update(name=5), "spec.templates[1].name is int"),
    ("template-name-invalid", lambda wf: _t(wf, 1).update(name="prep_data"), "is not a valid template name"),
    ("template-duplicated", lambda wf: wf["spec"]["templates"].append(copy.deepcopy(_t(wf, 1))),
     "spec.templates[5].name 'prep' is not unique (spec.templates[1] has it"),
    ("task-duplicated", lambda wf: _t(wf, 0)["dag"]["tasks"].append(copy.deepcopy(_t(wf, 0)["dag"]["tasks"][3])),
     "name 'publish' is not unique in this dag"),
    ("entrypoint-missing", lambda wf: wf["spec"].pop("entrypoint"), "spec.entrypoint is missing"),
    ("entrypoint-names-nothing", lambda wf: wf["spec"].update(entrypoint="nothing"), "template 'nothing' is not in"),
    ("entrypoint-list", lambda wf: wf["spec"].update(entrypoint=["main"]), "spec.entrypoint is a list"),
    ("task-no-template", lambda wf: _t(wf, 0)["dag"]["tasks"][0].pop("template"), f"template None is not in"),
    ("task-template-int", _task(0, template=3), f"{TASK0}.template is int"),
    ("task-templateref-elsewhere", lambda wf: (_t(wf, 0)["dag"]["tasks"][0].pop("template"), _task(
        0, templateRef={"name": "other", "template": "x"})(wf)),
     f"{TASK0}.templateRef: WorkflowTemplate 'other' is not in the file"),
    ("task-string", lambda wf: _t(wf, 0)["dag"]["tasks"].__setitem__(0, "prep"), f"{TASK0} is a string"),
    ("task-no-name", lambda wf: _t(wf, 0)["dag"]["tasks"][0].pop("name"), f"{TASK0}.name is missing"),
    ("dag-string", lambda wf: _t(wf, 0).update(dag="x"), "spec.templates[0].dag is a string"),
    ("steps-string", lambda wf: wf["spec"]["templates"].__setitem__(0, {"name": "main", "steps": "x"}),
     "spec.templates[0].steps is a string"),
    ("step-group-mapping", lambda wf: wf["spec"]["templates"].__setitem__(0, {"name": "main", "steps": [
        {"name": "a", "template": "prep"}]}), "spec.templates[0].steps[0] is a mapping"),
    ("step-duplicated", lambda wf: wf["spec"]["templates"].__setitem__(0, {"name": "main", "steps": [[
        {"name": "a", "template": "prep"}, {"name": "a", "template": "prep"}]]}), "'a' is not unique in this step group"),
    ("template-ref-not-in-file", lambda wf: wf["spec"].update(workflowTemplateRef={"name": "absent"}),
     "WorkflowTemplate 'absent' is not in the file"),
    ("parallelism-zero", lambda wf: wf["spec"].update(parallelism=0), "spec.parallelism is 0: Argo starts no pod"),
    ("parallelism-negative", lambda wf: _t(wf, 0).update(parallelism=-3), "spec.templates[0].parallelism is -3"),
    ("parallelism-string", lambda wf: wf["spec"].update(parallelism="3"), "spec.parallelism is a string"),
    ("spec-string", lambda wf: wf.update(spec="x"), "spec is a string"),
    ("pod-metadata-string", lambda wf: wf["spec"].update(podMetadata="x"), "spec.podMetadata is a string"),
    ("container-string", lambda wf: _t(wf, 1).update(container="x"), "spec.templates[1].container is a string"),
    ("container-cpu-negative", lambda wf: _t(wf, 1)["container"].update(resources={"requests": {"cpu": "-1"}}),
     "spec.templates[1].container.resources.requests[cpu] is -1"),
    ("sidecar-gpu-negative", lambda wf: _t(wf, 1).update(sidecars=[{"name": "s", "image": "x", "resources": {
        "limits": {"nvidia.com/gpu": "-1"}}}]), "spec.templates[1].sidecars[0].resources.limits[nvidia.com/gpu] is -1"),
    ("volumes-string", lambda wf: _t(wf, 1).update(volumes="x"), "spec.templates[1].volumes is a string"),
    ("labels-list", lambda wf: _t(wf, 1)["metadata"].update(labels=["x"]), "spec.templates[1].metadata.labels is a list"),
    ("template-metadata-string", lambda wf: _t(wf, 1).update(metadata="x"), "spec.templates[1].metadata is a string"),
    ("container-set-string", lambda wf: (_t(wf, 1).pop("container"), _t(wf, 1).update(containerSet="x")),
     "spec.templates[1].containerSet is a string"),
]

# Team keys of the new surfaces, refused at their own path and never coerced: (id, path, value, fragment).
BAD_VALUES = [
    ("pipelines-yes", "teams.3.pipelines", "yes", "teams[3].pipelines: expected true or false, got 'yes'"),
    ("pipelines-true-text", "teams.3.pipelines", "true", "teams[3].pipelines"),
    ("pipelines-one", "teams.3.pipelines", 1, "teams[3].pipelines"),
    ("pipelines-null", "teams.3.pipelines", None, "teams[3].pipelines"),
    ("pipelines-list", "teams.3.pipelines", [True], "teams[3].pipelines"),
    ("serving-yes", "teams.2.serving", "yes", "teams[2].serving: expected a mapping"),
    ("serving-true", "teams.2.serving", True, "teams[2].serving"),
    ("serving-min-text", "teams.2.serving.minReplicas", "1", "teams[2].serving.minReplicas"),
    ("serving-min-float", "teams.2.serving.minReplicas", 1.0, "teams[2].serving.minReplicas"),
    ("serving-min-negative", "teams.2.serving.minReplicas", -1, "teams[2].serving.minReplicas"),
    ("serving-min-above-max", "teams.2.serving.minReplicas", 9, "minReplicas 9 is above maxReplicas 4"),
    ("serving-max-bool", "teams.2.serving.maxReplicas", True, "teams[2].serving.maxReplicas"),
    ("serving-max-huge", "teams.2.serving.maxReplicas", 10**9, "the serving quota can never hold"),
    ("serving-image-int", "teams.2.serving.image", 5, "teams[2].serving.image"),
    ("serving-image-empty", "teams.2.serving.image", "", "teams[2].serving.image"),
    ("serving-image-spaces", "teams.2.serving.image", "my server:1", "teams[2].serving.image"),
    ("serving-unknown-key", "teams.2.serving.replicas", 3, "teams[2].serving.replicas: unknown key"),
    ("serving-no-quota", "teams.0.serving", {"image": "nvcr.io/nvidia/tritonserver:24.08-py3", "maxReplicas": 2},
     "team 'team-a' has a model server but no serving quota"),
]


def _job_file(size: int) -> Callable[[Path], list[str]]:
    """A rendered Job of team-a whose trainer gets `size` arguments (a list no job needs)."""
    def argv(tmp: Path) -> list[str]:
        job = copy.deepcopy(next(o for o in render(DEV, "team-a", "low") if o["kind"] == "Job"))
        job["spec"]["template"]["spec"]["containers"][0]["args"] = [str(i) for i in range(size)]
        path = tmp / "job.yaml"
        path.write_text(json.dumps(job))
        return ["explain", "dev", str(path)]
    return argv


# Job and workflow files are read with explain's own bound on their values (JOB_FILES in
# components/explain/workload.py), far below the stack files' 2,000,000: a 10^6-item file is refused
# after reading 200,000 values instead of being built whole (~7.5 s) and refused by explain.
TOO_LARGE = "YAML expands to more than 200,000 values (explain's bound for a job or workflow file"
BAD_SIZES = [
    Case("explain-size-workflow-items-1e6", _wf(_task(1, withItems=list(range(1_000_000)))), TOO_LARGE,
         also=("wf.yaml:", "fix: split the file, or fan out with withSequence (a count) or withParam")),
    Case("explain-size-job-args-1e6", _job_file(1_000_000), TOO_LARGE, also=("job.yaml:",)),
    Case("explain-size-job-args-250k", _job_file(250_000), TOO_LARGE, also=("job.yaml:",)),
]


def _cases() -> list[Case]:
    cases = [Case(f"explain-workflow-{wid}", _wf(change), says, also=WF) for wid, change, says in BAD_WORKFLOWS + BAD_REFS]
    cases += BAD_SIZES
    cases += [Case(f"cost-value-{vid}", lambda t, m=_with_platform(_set(path, value)): [
        "cost", "dev", "--config-file", str(m(t))], says) for vid, path, value, says in BAD_VALUES]
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_pipeline_serving_input_is_refused_clearly(case: Case, tmp_path, capsys, served):
    refused_clearly(case, tmp_path, capsys)


WORKER = (Path(__file__).resolve().parents[2] / "Pulumi.fleet-worker-eu.yaml").read_text()
MANAGER = (Path(__file__).resolve().parents[2] / "Pulumi.fleet-manager.yaml").read_text()


@pytest.mark.parametrize("files, says", [
    ({"w": WORKER.replace("{stack: fleet-manager}", "{stack: w}")}, "Pulumi.w.yaml is not a fleet manager (its "
     "fleet.role is 'worker')"),  # a worker naming itself: refused before it is read again, no recursion
    ({"w": WORKER.replace("{stack: fleet-manager}", "{stack: b}"), "b": WORKER.replace("{stack: fleet-manager}", "{stack: w}")},
     "Pulumi.b.yaml is not a fleet manager"),  # a cycle of workers
    ({"w": WORKER}, "Pulumi.fleet-manager.yaml, which is not in"),  # the manager's file is missing
    ({"w": WORKER, "fleet-manager": "config:\n  gpu-batch-platform:platform: [1, 2\n"}, "Pulumi.fleet-manager.yaml"),
    ({"w": WORKER, "fleet-manager": MANAGER.replace("role: manager", "role: boss")}, "is not a fleet manager (its "
     "fleet.role is 'boss')"),
    ({"w": WORKER, "fleet-manager": "config:\n  gpu-batch-platform:platform: {project: p}\n"},
     "its fleet.role is 'unset (no fleet section)'"),
    ({"w": WORKER.replace("role: worker", "role: [worker]")}, "fleet.role"),
    ({"w": WORKER.replace("{stack: fleet-manager}", "{stack: ../../etc/x}")}, "fleet.manager.stack"),
])
def test_a_worker_whose_manager_file_is_wrong_is_refused_at_fleet_manager_stack(tmp_path, files, says):
    """The worker's teams come from its manager's file (components/model/fleet_files.py), read from the
    stack files' directory; every way that file can be wrong is a ConfigError naming it, within a second."""
    for stack, text in files.items():
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(text)
    (tmp_path / "Pulumi.yaml").write_text("name: gpu-batch-platform\nruntime: python\n")
    raw = yaml.safe_load(files["w"])["config"][PLATFORM]
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        parse_in(raw, "Pulumi.w.yaml", tmp_path)
    assert says in str(err.value), str(err.value)
    assert time.monotonic() - started < 1


def test_tally():
    assert len(CASES) >= 80 and len({c.id for c in CASES}) == len(CASES)


def _values(text: str) -> int:
    """Values in a YAML text as yaml_input counts them (scalars, aliases and collections; no anchors here)."""
    kinds = (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
    return sum(isinstance(e, kinds) for e in yaml.parse(text, Loader=yaml.SafeLoader))


def test_the_job_file_bound_is_far_above_the_largest_sensible_file_and_only_explains():
    """JOB_FILES is stated from the largest files a team explains: the rendered example pipeline and
    docs/examples/explain-sweep.yaml (727 and 528 values when it was set); both are read, and the stack
    files keep their own bound."""
    from components.capture import REPO
    from components.explain import load_workload_file
    from components.explain.workload import JOB_FILES
    from components.model import yaml_input

    pipeline = yaml.safe_dump_all(render(DEV, "team-d", "pipeline"))
    sweep = (REPO / "docs" / "examples" / "explain-sweep.yaml").read_text()
    assert max(_values(pipeline), _values(sweep)) < 1_000
    assert JOB_FILES.nodes >= 200 * 1_000
    assert load_workload_file(pipeline, "p.yaml") and load_workload_file(sweep, "s.yaml")
    big = json.dumps({"kind": "Job", "items": list(range(JOB_FILES.nodes))})
    assert len(yaml_input.load_all(big, "stack.yaml")[0]["items"]) == JOB_FILES.nodes  # the stack-file bound
    with pytest.raises(ConfigError) as err:
        load_workload_file(big, "job.yaml")
    assert "more than 200,000 values" in str(err.value)
