"""`workloads`: ready-to-apply Jobs/JobSets for a team, rendered from the stack's model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import click
import yaml

from components.kubernetes.manifest_validation import ManifestError, validate_all
from components.workloads import JOB_KINDS, WorkloadRequestError, kinds_for, render

from .app import cli, short_help
from .stack import BadInput, platform_of, stack_of

# Kubernetes puts the Job name into the pods' batch.kubernetes.io/job-name label (a DNS label, at most 63);
# the ConfigMap adds "-code" and an Indexed Job's pod hostnames "-<index>", so leave room for both.
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
MAX_NAME = 52


@cli.command(short_help=short_help("workloads"))
@click.argument("stack", default="dev")
@click.option("--team", help="Team (namespace) to render for; with --all, every team.")
@click.option("--kind", type=click.Choice(JOB_KINDS), help="high, low or compact Job, a multi-node jobset (low queue), a dws Job, the serving model server, the example Argo pipeline.")
@click.option("--name", help="Job/JobSet name (default train-<kind>); compact jobs get a placement group from it.")
@click.option("--all", "every", is_flag=True, help="Every kind each team can run, one file per workload (needs --out).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write <team>/<name>.yaml here instead of stdout.")
def workloads(stack: str, team: Optional[str], kind: Optional[str], name: Optional[str], every: bool,
              out: Optional[Path]) -> int:
    """Render a team's workload for STACK (default dev): `kubectl apply -f` the output.

    Queue label, priority, service account, GPUs and placement come from the model; the team bucket is
    mounted at /data through the Cloud Storage FUSE CSI driver; the trainer is components/training.
    Every object is validated like everything the platform applies. Bad input exits 2.
    """
    if name is not None and not (len(name) <= MAX_NAME and re.fullmatch(DNS_LABEL, name)):
        raise BadInput(f"--name {name!r}: a Job/JobSet name here is 1-{MAX_NAME} lowercase letters, digits and '-', "
                       "starting and ending with a letter or digit (fix: e.g. --name train-run-1)")
    platform = platform_of(stack_of(stack))
    if every:
        if not out:
            raise BadInput("--all writes one file per workload: give --out DIR")
        wanted = [(t.name, k) for t in platform.teams if team in (None, t.name) for k in kinds_for(platform, t)]
    elif team and kind:
        wanted = [(team, kind)]
    else:
        raise BadInput("give --team and --kind (or --all --out DIR)")
    bundles = []
    for team_name, kind_ in wanted:
        try:
            objs = render(platform, team_name, kind_, None if every else name)
        except WorkloadRequestError as err:
            raise BadInput(str(err)) from None
        try:
            validate_all(objs)
        except ManifestError as err:  # a bug of the renderer, never the user's input
            click.echo(str(err), err=True)
            return 1
        bundles.append((team_name, objs))
    for team_name, objs in bundles:
        text = yaml.safe_dump_all(objs, sort_keys=False)
        if out:
            path = out / team_name / f"{objs[-1]['metadata']['name']}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            click.echo(f"wrote {path}")
        else:
            click.echo(text, nl=False)
    return 0
