"""`explain`: would this Job/JobSet be admitted by Kueue and land on a node, and if not, why and the fix."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import click

from components.explain import ADMITTED, WorkloadError, from_capture, from_object
from components.explain.apiserver import negatives
from components.explain import load_workload_file, parse_used, parse_workloads
from components.explain.cluster import with_objects
from components.explain.dispatch import dispatch_notes
from components.explain.used import check_capacity
from components.explain.workflow import explain_workflow
from components.explain.workload import MANAGED_KINDS, WORKFLOW_KINDS
from components.explain.quantity import QuantityError
from components.explain.queue import simulate
from components.kubernetes import argo
from components.model import ConfigError
from components.model.yaml_input import load_all, read_text
from components.workloads import JOB_KINDS, WorkloadRequestError, render

from .app import cli, short_help
from .stack import BadInput, capture_of, platform_of, stack_of


@cli.command(short_help=short_help("explain"))
@click.argument("stack", default="dev")
@click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--team", help="With --kind: explain the workload `workloads` renders for this team.")
@click.option("--kind", type=click.Choice(JOB_KINDS), help="With --team: which rendered workload.")
@click.option("--namespace", help="Namespace for a FILE whose objects set none.")
@click.option("--used", multiple=True, metavar="cq=CQ,flavor=F,pods=N,gpu=G,cpu=C,memory=M[,priority=P][,admitted=30m]",
              help="A workload already holding quota (repeatable), with its per-pod requests, e.g. "
                   "cq=team-b-high,flavor=l4-reserved,gpu=2,cpu=20,memory=80Gi; priority defaults to the queue's "
                   "class, admitted to the order given.")
@click.option("--running", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Workloads holding quota as Kueue sees them: the output of kubectl get workloads -A -o yaml.")
@click.option("--objects", "what_if", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="What if: ClusterQueues, LocalQueues, Cohorts, ResourceFlavors, (Workload)PriorityClasses added to "
                   "the stack's objects or replacing those of the same name.")
@click.option("--templates", "template_files", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A file of WorkflowTemplates (repeatable) that a workflow FILE's templateRef or workflowTemplateRef "
                   "names, as if they were in FILE (explain reads no cluster).")
def explain(stack: str, file: Optional[Path], team: Optional[str], kind: Optional[str], namespace: Optional[str],
            used: tuple[str, ...], running: Optional[Path], what_if: Optional[Path],
            template_files: tuple[Path, ...] = ()) -> int:
    """Simulate Kueue (v0.19.2 rules) and the scheduler on STACK's rendered objects for FILE (your own
    Job/JobSet YAML, one or many: many are queued and admitted in Kueue's order, each taking quota
    before the next; or one Argo Workflow/WorkflowTemplate: a verdict per step pod, stage by stage) or a
    rendered workload (--team/--kind).

    Prints ADMITTED (flavor, nominal or borrowing from whom, pool), PENDING (the exact reason and the
    fix), REJECTED (at creation) or UNMANAGED (Kueue ignores it), then how it got there; for several
    jobs, the GPU quota in use after the last cycle. Exit 0 all admitted, 1 otherwise, 2 bad input.
    """
    if file and (team or kind):
        raise BadInput("give FILE or --team/--kind, not both")
    loaded = stack_of(stack)
    if file:
        try:
            objs = load_workload_file(read_text(file), str(file))
        except (ConfigError, WorkloadError) as err:
            raise BadInput(str(err)) from None
    elif team and kind:
        try:
            objs = [o for o in render(platform_of(loaded), team, kind) if o["kind"] in MANAGED_KINDS + WORKFLOW_KINDS]
        except WorkloadRequestError as err:
            raise BadInput(str(err)) from None
    else:
        raise BadInput("give FILE (your Job/JobSet YAML) or --team and --kind")
    library = _templates(template_files, objs)
    capture = capture_of(loaded)
    cluster = from_capture(capture)
    try:
        if what_if:
            cluster = with_objects(cluster, load_all(read_text(what_if), str(what_if)), str(what_if))
        now = time.time()
        holding = parse_used(list(used), cluster, now)
        if running:
            workloads, pending = parse_workloads(load_all(read_text(running), str(running)), cluster, str(running))
            holding += workloads
            if pending:
                click.echo(f"note: {running}: {pending} Workload(s) without quota reserved are left out", err=True)
        check_capacity(holding, cluster)
        if any(o.get("kind") in WORKFLOW_KINDS for o in objs):
            return _workflow(cluster, objs, holding, namespace, now, str(file) if file else f"{team}/{kind}",
                             _argo_executor(capture), library)
        result = simulate(cluster, _workloads(objs, str(file) if file else f"{team}/{kind}"), holding, namespace, now)
    except (ValueError, WorkloadError, QuantityError, ConfigError) as err:
        raise BadInput(str(err)) from None
    # A fleet manager's dispatched workloads: which worker runs them (components/explain/dispatch.py).
    notes = dispatch_notes(platform_of(loaded), cluster, result.verdicts, objs, namespace, now)
    click.echo("\n\n".join(v.format() + note for v, note in zip(result.verdicts, notes)))
    if len(objs) > 1 or result.evicted:
        click.echo("\nafter the last scheduling cycle:")
        click.echo("\n".join(f"  {line}" for line in result.usage) or "  no GPU quota in use")
        click.echo("".join(f"\n  preempted (--used): {w}" for w in result.evicted))
    return 0 if all(v.status == ADMITTED for v in result.verdicts) else 1


def _workloads(objs: list[dict], source: str) -> list:
    """Each object as explain's Workload. What the API server cannot decode, and any negative count or
    quantity, is bad input named by file, object and field path, with the fix."""
    out = []
    for obj in objs:
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        name = "/".join(str(meta[k]) for k in ("namespace", "name") if meta.get(k)) or "(no metadata.name)"
        where = f"{source}: {obj.get('kind')} {name}"
        try:
            workload = from_object(obj)
        except WorkloadError as err:
            raise BadInput(f"{where}: {err}") from None
        bad = negatives(obj)
        if bad:
            fields = "; ".join(f"{path} is {value}" for path, value in bad)
            raise BadInput(f"{where}: {fields}: a count or quantity cannot be negative (the API server rejects it: "
                           "must be greater than or equal to 0); fix: set it to 0 or more, e.g. nvidia.com/gpu: 2, "
                           "parallelism: 1")
        out.append(workload)
    return out


def _templates(files: tuple[Path, ...], objs: list[dict]) -> list[dict]:
    """The WorkflowTemplates of --templates files, for a workflow's references; each file must hold one."""
    if files and not any(o.get("kind") in WORKFLOW_KINDS for o in objs):
        raise BadInput("--templates: WorkflowTemplates are for a workflow's references, and FILE holds no Argo "
                       "Workflow or WorkflowTemplate; fix: drop --templates")
    out = []
    for path in files:
        try:
            found = [o for o in load_workload_file(read_text(path), str(path)) if o.get("kind") == "WorkflowTemplate"]
        except (ConfigError, WorkloadError) as err:
            raise BadInput(str(err)) from None
        if not found:
            raise BadInput(f"--templates {path}: holds no WorkflowTemplate; fix: name a file of WorkflowTemplates")
        out += found
    return out


def _argo_executor(capture) -> Optional[dict]:
    """The Argo chart's `executor` values as the stack installs them (None: the stack installs no Argo)."""
    chart = next((r.inputs for r in capture.resources if r.type.endswith("helm.sh/v4:Chart")
                  and r.inputs.get("name") == argo.RELEASE), None)
    return None if chart is None else dict((chart.get("values") or {}).get("executor") or {})


def _workflow(cluster, objs: list[dict], holding: list, namespace: Optional[str], now: float, source: str,
              executor: Optional[dict], library: list[dict] = ()) -> int:
    """One Argo Workflow per file (else the file's first WorkflowTemplate): its step pods' verdicts
    (components/explain/workflow.py); the file's WorkflowTemplates are what its references resolve to."""
    flows = ([o for o in objs if o.get("kind") in ("Workflow", "CronWorkflow")]
             or [o for o in objs if o.get("kind") == "WorkflowTemplate"][:1])
    others = [o for o in objs if o.get("kind") not in WORKFLOW_KINDS]
    if len(flows) > 1 or others:
        raise BadInput(f"{source}: explain takes one Argo Workflow (or WorkflowTemplate) per file, with the "
                       f"WorkflowTemplates it references and without Jobs: found "
                       f"{', '.join(str(o.get('kind')) for o in objs)}; fix: one workflow per file")
    flow = flows[0]
    name = "/".join(str(v) for v in ((flow.get("metadata") or {}).get(k) for k in ("namespace", "name")) if v)
    try:
        text, ok = explain_workflow(cluster, flow, (*objs, *library), holding, namespace, now, executor)
    except WorkloadError as err:
        raise BadInput(f"{source}: {flow.get('kind')} {name or '(no metadata.name)'}: {err}") from None
    click.echo(text)
    return 0 if ok else 1
