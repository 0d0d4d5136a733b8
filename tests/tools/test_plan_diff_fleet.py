"""The plan diff of a fleet worker: its model (and so its cost delta) is derived from its manager's stack file,
which on each side of the diff must be that revision's own, never the checkout's."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import yaml

from components.capture import REPO
from components.cost.budget import cost_delta, format_delta
from components.model import parse_platform
import components.review.plans as plans
from components.review import plan_of_file, plan_of_revision, render
from conftest import PLATFORM_KEY, capture_of

WORKER, MANAGER = "fleet-worker-eu", "fleet-manager"


def _document(stack: str) -> dict:
    return yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())


def _fleet(dispatch: list[str]) -> tuple[dict, dict]:
    """The dev fleet's manager dispatching `dispatch`, and its worker with a pool and quota for each of them
    (`high` on an on-demand pool, `low` on the spot one)."""
    manager, worker = _document(MANAGER), _document(WORKER)
    manager["config"][PLATFORM_KEY]["fleet"]["dispatch"] = dispatch
    raw = worker["config"][PLATFORM_KEY]
    (spot,) = raw["gpuPools"]
    pools = {"low": spot, "high": {**spot, "name": "l4-ondemand", "provisioning": "on-demand", "maxNodes": 4}}
    raw["gpuPools"] = [pools[cls] for cls in dispatch]
    raw["fleet"]["quota"] = {cls: [{"flavor": pools[cls]["name"], "gpus": 8 if cls == "low" else 4}] for cls in dispatch}
    return manager, worker


def _commit(repo: Path, documents: tuple[dict, dict], message: str) -> None:
    for stack, document in zip((MANAGER, WORKER), documents):
        (repo / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    for cmd in (["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message]):
        subprocess.run(["git", *cmd], cwd=repo, check=True)


def _worker_beside(tmp: Path, documents: tuple[dict, dict]):
    """The worker's model derived from the manager it was committed with."""
    tmp.mkdir()
    (tmp / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp / f"Pulumi.{MANAGER}.yaml").write_text(yaml.safe_dump(documents[0]))
    return parse_platform(documents[1]["config"][PLATFORM_KEY], f"Pulumi.{WORKER}.yaml", tmp)


def test_each_revision_derives_the_worker_from_its_own_manager_file(tmp_path):
    """Two commits of a fleet: the first dispatches `high` only, the second `low` and `high` (the worker gains a
    spot pool and `low` quota). Each worker file validates only beside its own manager (a worker's quota must
    match exactly what its manager dispatches); the checkout's manager dispatches `low` only, so a delta derived
    from it refuses both sides ("does not parse") instead of showing what the spot pool adds."""
    repo = tmp_path / "repo"
    (repo / "components").mkdir(parents=True)
    (repo / "components" / "__init__.py").write_text("")
    # The revision's own code, as plan_of_revision runs it (one fixed resource): only the cost part is under test.
    (repo / "components" / "offline.py").write_text(
        "class C:\n    def to_json(self): return [{'urn': 'u', 'name': 'n', 'type': 't', 'inputs': {}, 'options': {}}]\n"
        "def run_stack(stack, config): return C()\n")
    (repo / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    first, second = _fleet(["high"]), _fleet(["low", "high"])
    _commit(repo, first, "high is dispatched")
    _commit(repo, second, "low is dispatched too")

    old, new = plan_of_revision("HEAD~1", WORKER, repo), plan_of_revision("HEAD", WORKER, repo)
    assert yaml.safe_load(old.files[f"Pulumi.{MANAGER}.yaml"]) == first[0]
    assert yaml.safe_load(new.files[f"Pulumi.{MANAGER}.yaml"]) == second[0]

    before, after = _worker_beside(tmp_path / "first", first), _worker_beside(tmp_path / "second", second)
    assert {cls for t in before.teams for cls, q in t.queues.by_class() if q} == {"high"}
    assert {cls for t in after.teams for cls, q in t.queues.by_class() if q} == {"low", "high"}
    expected = format_delta(cost_delta(before, after))
    shown = render(old, new).split("#### Monthly cost\n\n", 1)[1].splitlines()
    assert shown == [f"- {line}" for line in expected]
    assert "(+0.00)" in expected[0] and "(+0.00)" not in expected[1]  # same idle floor; the spot pool's burst
    # Read beside the checkout's manager instead, neither side parses.
    plans_without_files = [replace(plan, files={}) for plan in (old, new)]
    assert "cost delta not computed" in render(*plans_without_files)


def test_a_stack_file_plan_derives_from_the_checkout(monkeypatch):
    """A stack file is planned with the current code and beside the checkout's files (no revision files)."""
    monkeypatch.setattr(plans, "run_stack", lambda stack: capture_of(stack.config, stack.name))
    plan = plan_of_file(REPO / f"Pulumi.{WORKER}.yaml", WORKER)
    assert plan.files == {}
    text = render(plan, plan)
    assert "- idle floor:" in text and "(+0.00)" in text and "not computed" not in text
