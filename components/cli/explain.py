"""`explain`: would this Job/JobSet be admitted by Kueue and land on a node, and if not, why and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click
import yaml

from components.explain import ADMITTED, WorkloadError, explain as simulate, from_capture, from_object
from components.explain import load_workload_file, parse_used
from components.explain.quantity import QuantityError
from components.workloads import JOB_KINDS, WorkloadRequestError, render

from .app import cli, short_help
from .stack import BadInput, capture_of, platform_of, stack_of


@cli.command(short_help=short_help("explain"))
@click.argument("stack", default="dev")
@click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--team", help="With --kind: explain the workload `workloads` renders for this team.")
@click.option("--kind", type=click.Choice(JOB_KINDS), help="With --team: which rendered workload.")
@click.option("--namespace", help="Namespace for a FILE whose objects set none.")
@click.option("--used", multiple=True, metavar="CQ=FLAVOR:GPUS[:PRIORITYCLASS]",
              help="Quota already in use, e.g. team-b-high=l4-reserved:2 (repeatable): a running job of that many "
                   "GPUs, at its queue's priority unless given.")
def explain(stack: str, file: Optional[Path], team: Optional[str], kind: Optional[str], namespace: Optional[str],
            used: tuple[str, ...]) -> int:
    """Simulate Kueue (v0.19.2 rules) and the scheduler on STACK's rendered objects for FILE (your own
    Job/JobSet YAML) or a rendered workload (--team/--kind).

    Prints ADMITTED (flavor, nominal or borrowing from whom, pool), PENDING (the exact reason and the
    fix) or REJECTED (at submission), then how it got there. Exit 0 admitted, 1 pending or rejected,
    2 bad input.
    """
    if file and (team or kind):
        raise BadInput("give FILE or --team/--kind, not both")
    loaded = stack_of(stack)
    if file:
        try:
            objs = load_workload_file(file.read_text())
        except yaml.YAMLError as err:
            raise BadInput(f"{file}: not YAML: {err}") from None
        if not objs:
            raise BadInput(f"{file}: no batch/v1 Job or jobset.x-k8s.io JobSet in it")
    elif team and kind:
        try:
            objs = [o for o in render(platform_of(loaded), team, kind) if o["kind"] in ("Job", "JobSet")]
        except WorkloadRequestError as err:
            raise BadInput(str(err)) from None
    else:
        raise BadInput("give FILE (your Job/JobSet YAML) or --team and --kind")
    cluster = from_capture(capture_of(loaded))
    try:
        running = parse_used(list(used), cluster)
        verdicts = [simulate(cluster, from_object(obj), running, namespace) for obj in objs]
    except (ValueError, WorkloadError, QuantityError) as err:
        raise BadInput(str(err)) from None
    click.echo("\n\n".join(v.format() for v in verdicts))
    return 0 if all(v.status == ADMITTED for v in verdicts) else 1
