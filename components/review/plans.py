"""Offline plans of a stack file or of a git revision, as plain data for `compare`.

A revision is planned with its own code: `git worktree add --detach` checks it out in a temp folder and
this interpreter runs that checkout's `components.capture.run_stack` there (the one entry point every
revision has), printing the captured resources and the stack config as JSON.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from components.capture import REPO, load_stack, run_stack

# Run inside the revision's checkout: its own code, its own stack file.
_DUMP = """
import json, sys, yaml
sys.path.insert(0, '.')
try:
    from components.capture import run_stack
except ImportError:  # a revision from before this module was called capture
    from components.offline import run_stack
from pathlib import Path
stack = sys.argv[1]
config = (yaml.safe_load(open(f'Pulumi.{stack}.yaml')) or {}).get('config', {})
files = {p.name: p.read_text() for p in sorted(Path('.').glob('Pulumi*.yaml'))}
print(json.dumps({'resources': run_stack(stack, config=config).to_json(), 'config': config, 'files': files},
                 default=str))
"""


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit here (Python's default ends the process without running `finally`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class PlanError(Exception):
    """The plan of one side could not be made (bad ref, bad config); the message says which and why."""


@dataclass(frozen=True)
class Plan:
    label: str  # what a reviewer reads: `dev @ main`, `Pulumi.dev.yaml`
    stack: str
    resources: list[dict]
    config: dict[str, Any]
    # A revision's Pulumi.yaml and stack files by name: a fleet worker's model is derived from its manager's
    # file, which must be the revision's own. Empty for a stack file (derived from the checkout's files).
    files: dict[str, str] = field(default_factory=dict)


def plan_of_file(path: Path, stack: str = "") -> Plan:
    """The plan of a stack file (Pulumi.<stack>.yaml-like) with the current code."""
    if not path.exists():
        raise PlanError(f"{path}: no such stack file")
    loaded = load_stack(stack or None, path)
    label = str(path.resolve().relative_to(REPO)) if path.resolve().is_relative_to(REPO) else str(path)
    return Plan(label, loaded.name, run_stack(loaded).to_json(), loaded.config)


def plan_of_revision(ref: str, stack: str, repo: Path = REPO) -> Plan:
    """The plan of `stack` as committed at git `ref`, run with that revision's code."""
    if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=repo,
                      capture_output=True).returncode:
        raise PlanError(f"{ref}: not a git revision of {repo}")
    with tempfile.TemporaryDirectory(prefix="plan-diff-") as tmp, _terminate_as_exit():
        tree = Path(tmp) / "tree"
        # Interrupted anywhere (Ctrl-C, SIGTERM), even while `git worktree add` runs, the worktree and
        # its registration in the repository are removed: nothing is left behind.
        try:
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), ref], cwd=repo,
                           check=True, capture_output=True)
            if not (tree / f"Pulumi.{stack}.yaml").exists():
                raise PlanError(f"{ref}: has no Pulumi.{stack}.yaml")
            done = subprocess.run([sys.executable, "-c", _DUMP, stack], cwd=tree, capture_output=True, text=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=repo, capture_output=True)
            subprocess.run(["git", "worktree", "prune"], cwd=repo, capture_output=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-12:]
        raise PlanError(f"{ref}: the plan of stack {stack!r} failed:\n" + "\n".join(last))
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Plan(f"{stack} @ {ref}", stack, data["resources"], data["config"], data["files"])
