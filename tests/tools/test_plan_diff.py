"""The plan diff (`python -m components.cli diff`): what a reviewer sees before `pulumi up`.

Pulumi's semantics encoded: resources match by URN or by an alias the new one declares (pulumi.com
docs "aliases": the engine treats the aliased old URN as the same resource); a change of a
replace-forcing input (provider `ForceNew`, or the resource's `replaceOnChanges` option) is a
replacement, i.e. delete + create (pulumi.com docs "replaceOnChanges"); `protect` makes a replacement
or delete fail (pulumi.com docs "protect").
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import components.review.plans as plans
from components.cli import main as cli
from components.capture import REPO, read_config_file
from components.review import PlanError, compare, plan_of_revision
from conftest import PLATFORM_KEY, capture_of, load_stack_config

EXAMPLE = REPO / "docs" / "examples" / "dev-add-team-e.yaml"
README_COMMAND = ".venv/bin/python -m components.cli diff Pulumi.dev.yaml docs/examples/dev-add-team-e.yaml"


@pytest.fixture
def cached_runs(monkeypatch):
    """Stack files planned through the suite's capture cache (same program, same config, one run)."""
    monkeypatch.setattr(plans, "run_stack", lambda stack: capture_of(stack.config, stack.name))


@pytest.fixture(scope="module")
def dev_resources() -> list[dict]:
    return capture_of(load_stack_config("dev")).to_json()


def _find(resources: list[dict], name: str) -> dict:
    return next(r for r in resources if r["name"] == name)


def test_docs_show_the_add_a_fifth_team_diff_the_command_prints(cached_runs, capsys):
    assert cli(["diff", "Pulumi.dev.yaml", "docs/examples/dev-add-team-e.yaml"]) == 0
    printed = capsys.readouterr().out
    doc = (REPO / "docs" / "operating.md").read_text()
    assert README_COMMAND in doc
    shown = doc.split("<!-- plan-diff: add-team-e -->\n", 1)[1].split("<!-- /plan-diff -->", 1)[0]
    assert shown == printed, "docs/operating.md out of date: rerun the command above and paste its output"
    assert "**26 to create, 0 to update, 0 to replace, 0 to delete**" in printed
    assert "| team-e | l4-spot | — | 8 (+4) |" in printed


def test_the_example_is_dev_plus_one_team():
    dev = load_stack_config("dev")[PLATFORM_KEY]
    example = read_config_file(EXAMPLE)[PLATFORM_KEY]
    added = example["teams"].pop()
    assert added["name"] == "team-e" and example == dev


def test_a_forcing_field_is_a_replacement_and_protection_is_flagged(dev_resources):
    after = copy.deepcopy(dev_resources)
    bucket = _find(after, "team-team-a-bucket")
    bucket["inputs"]["location"] = "EU"
    before = copy.deepcopy(dev_resources)
    _find(before, "team-team-a-bucket")["options"]["protect"] = True
    diff = compare(before, after)
    [change] = diff.changes
    assert change.action == "replace" and change.protected
    assert [(f.path, f.forces_replacement) for f in change.fields] == [("location", True)]


def test_replace_on_changes_option_forces_replacement(dev_resources):
    """The LocalQueue declares replaceOnChanges spec.clusterQueue (immutable in Kueue's CEL)."""
    after = copy.deepcopy(dev_resources)
    lq = next(r for r in after if r["type"].endswith("LocalQueue"))
    lq["inputs"]["spec"]["clusterQueue"] = "elsewhere"
    assert [c.action for c in compare(dev_resources, after).changes] == ["replace"]


def test_a_change_under_ignore_changes_is_no_change(dev_resources):
    """pulumi.com docs "ignoreChanges": the engine keeps the old value of an ignored property, so it neither
    updates nor replaces the resource. The cluster ignores nodeConfig (it only shapes the transient default
    pool, components/gcp/cluster.py), although nodeConfig forces replacement."""
    after = copy.deepcopy(dev_resources)
    cluster = _find(after, "cluster-gke")
    assert "nodeConfig" in cluster["options"]["ignoreChanges"]
    cluster["inputs"]["nodeConfig"]["bootDiskKmsKey"] = "projects/p/locations/l/keyRings/r/cryptoKeys/k"
    assert compare(dev_resources, after).changes == []
    cluster["options"]["ignoreChanges"].remove("nodeConfig")
    [change] = compare(dev_resources, after).changes
    assert change.action == "replace" and [f.path for f in change.fields] == ["nodeConfig.bootDiskKmsKey"]


def test_in_place_update_names_each_changed_quota(dev_resources):
    after = copy.deepcopy(dev_resources)
    cq = _find(after, "queues-team-a-cq-low")
    spot = next(f for f in cq["inputs"]["spec"]["resourceGroups"][0]["flavors"] if f["name"] == "l4-spot")
    gpu = next(x for x in spot["resources"] if x["name"] == "nvidia.com/gpu")
    gpu["nominalQuota"] = "10"
    [change] = compare(dev_resources, after).changes
    assert change.action == "update"
    assert [(f.path, f.before, f.after) for f in change.fields] == [
        ("spec.resourceGroups[0].flavors[l4-spot].resources[nvidia.com/gpu].nominalQuota", "12", "10")]


def test_a_moved_resource_with_an_alias_is_not_recreated(dev_resources):
    after = copy.deepcopy(dev_resources)
    net = _find(after, "network-vpc")
    old_urn = net["urn"]
    net["urn"] = old_urn.replace("::network-vpc", "::vpc")
    net["name"] = "vpc"
    net["options"]["aliases"] = [{"name": "network-vpc"}]
    [change] = compare(dev_resources, after).changes
    assert (change.action, change.renamed_from) == ("update", old_urn)
    net["options"]["aliases"] = []
    assert sorted(c.action for c in compare(dev_resources, after).changes) == ["create", "delete"]


def _fake_revision(tmp_path: Path) -> Path:
    """A git repo whose committed `components.capture.run_stack` returns one fixed resource."""
    repo = tmp_path / "repo"
    (repo / "components").mkdir(parents=True)
    (repo / "components" / "__init__.py").write_text("")
    (repo / "components" / "offline.py").write_text(
        "class C:\n    def __init__(self, config): self.config = config\n"
        "    def to_json(self): return [{'urn': 'u', 'name': 'n', 'type': 't', 'inputs': self.config, 'options': {}}]\n"
        "def run_stack(stack, config): return C(config)\n")
    (repo / "Pulumi.dev.yaml").write_text("config: {a: 1}\n")
    for cmd in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "r1"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True)
    return repo


def test_a_revision_is_planned_with_its_own_code_in_a_temporary_worktree(tmp_path):
    repo = _fake_revision(tmp_path)
    plan = plan_of_revision("HEAD", "dev", repo)
    assert plan.label == "dev @ HEAD" and plan.config == {"a": 1}
    assert plan.resources == [{"urn": "u", "name": "n", "type": "t", "inputs": {"a": 1}, "options": {}}]
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    assert len(listed.splitlines()) == 1, "the temporary worktree must be removed"
    with pytest.raises(PlanError, match="no Pulumi.prod.yaml"):
        plan_of_revision("HEAD", "prod", repo)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])  # Ctrl-C; SIGTERM (raised as SystemExit)
def test_an_interrupted_revision_plan_leaves_no_worktree(tmp_path, monkeypatch, interrupt):
    repo = _fake_revision(tmp_path)
    real = subprocess.run

    def run(args, **kwargs):
        if args[0] == sys.executable:  # while the revision's plan runs
            raise interrupt()
        return real(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(interrupt):
        plan_of_revision("HEAD", "dev", repo)
    listed = real(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    assert len(listed.splitlines()) == 1, listed


def test_sigterm_during_a_revision_plan_runs_the_cleanup(tmp_path, monkeypatch):
    import os
    import signal

    repo = _fake_revision(tmp_path)
    real = subprocess.run

    def run(args, **kwargs):
        if args[0] == sys.executable:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    with pytest.raises(SystemExit):
        plan_of_revision("HEAD", "dev", repo)
    listed = real(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    assert len(listed.splitlines()) == 1, listed
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_diff_flags_protection_a_production_stack_turns_off(tmp_path, capsys, cached_runs):
    doc = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    platform = doc["config"][PLATFORM_KEY]
    platform["cluster"]["deletionProtection"] = False
    platform["dataProtection"].update(protect=False, bucketVersioning=False)
    platform["security"] = {"flowLogs": False, "bootDiskEncryption": False}
    changed = tmp_path / "prod-unprotected.yaml"
    changed.write_text(yaml.safe_dump(doc))
    assert cli(["diff", "Pulumi.prod.yaml", str(changed), "--stack", "prod"]) == 0
    out = capsys.readouterr().out
    for line in ("`cluster-gke`: deletionProtection turned off", "`cluster-gke`: Pulumi protect turned off",
                 "`team-vision-bucket`: versioning turned off", "`network-subnet`: VPC Flow Logs turned off",
                 "`cluster-gke`: KMS boot disks of auto-provisioned nodes turned off", "`system-pool`: KMS boot disks turned off"):
        assert f"> ⛔ production stack: {line}" in out, out[:3000]
    # The same edits in a development stack are its choice: nothing is flagged.
    assert cli(["diff", "Pulumi.dev.yaml", "Pulumi.dev.yaml"]) == 0
    assert "⛔" not in capsys.readouterr().out


def test_unknown_revision_exits_2(capsys):
    assert cli(["diff", "no-such-ref-xyz"]) == 2
    assert "no-such-ref-xyz: not a git revision" in capsys.readouterr().err
