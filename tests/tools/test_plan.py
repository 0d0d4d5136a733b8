"""The offline plan command: `python -m components.cli plan [stack] [--out DIR]`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

import components.stacks
from components.capture import REPO
from components.cli import main as cli
from components.model import nap_limits, parse_platform
from components.plan import resources_json
from conftest import PLATFORM_KEY, load_dev_config, load_dev_platform_raw


@pytest.fixture(scope="module")
def dev_plan(cli_plan):
    """The CLI's plan of dev, run once in the session (conftest): (exit code, stdout, stderr, out dir)."""
    return cli_plan("dev")


def resource_lines(stdout: str) -> list[str]:
    section = stdout.split("Resources:", 1)[1].split("\nCounts", 1)[0]
    return [line.strip() for line in section.splitlines() if line.strip().startswith("+ ")]


def test_dev_plan_succeeds(dev_plan):
    code, stdout, stderr, _ = dev_plan
    assert code == 0, stderr
    assert stderr == ""
    assert "Offline plan of stack 'dev'" in stdout


@pytest.mark.parametrize("type_, name", [
    ("gcp:container/cluster:Cluster", "cluster-gke"),
    ("gcp:compute/network:Network", "network-vpc"),
    ("gcp:compute/subnetwork:Subnetwork", "network-subnet"),
    ("gcp:compute/routerNat:RouterNat", "network-nat"),
    ("gcp:container/nodePool:NodePool", "system-pool"),
    ("gcp:container/nodePool:NodePool", "l4-reserved-pool"),
    ("gcp:container/nodePool:NodePool", "l4-ondemand-pool"),
    ("gcp:container/nodePool:NodePool", "l4-spot-pool"),
    ("gcp:container/nodePool:NodePool", "l4-dws-pool"),
    ("gcp:compute/reservation:Reservation", "l4-reserved-reservation"),
    ("gcp:serviceaccount/account:Account", "nodes-sa"),
    ("gcp:serviceaccount/account:Account", "team-team-a-sa"),
    ("gcp:serviceaccount/account:Account", "team-team-d-sa"),
    ("gcp:serviceaccount/iAMMember:IAMMember", "team-team-a-workload-identity"),
    ("gcp:serviceaccount/iAMMember:IAMMember", "team-team-d-workload-identity"),
])
def test_plan_lists_the_resource(dev_plan, type_, name):
    assert f"+ {type_}  {name}" in resource_lines(dev_plan[1])


def test_plan_lists_every_service_account_and_wi_binding(dev_plan):
    lines = resource_lines(dev_plan[1])
    accounts = [line for line in lines if line.startswith("+ gcp:serviceaccount/account:Account ")]
    bindings = [line for line in lines if line.startswith("+ gcp:serviceaccount/iAMMember:IAMMember ")]
    assert len(accounts) == 5  # nodes + 4 teams
    assert len(bindings) == 4


def test_plan_prints_the_capacity_table_and_nap_limits(dev_plan):
    stdout = dev_plan[1]
    capacity = stdout.split("GPU capacity:", 1)[1]
    for flavor in ("l4-reserved", "l4-ondemand", "l4-spot", "l4-dws", "l4-shared", "a100-compact-spot"):
        assert flavor in capacity
    row = next(line for line in capacity.splitlines() if line.startswith("l4-reserved "))
    assert row.split()[:3] == ["l4-reserved", "reserved", "g2-standard-24"]
    assert "4 (reserved)" in row
    limits = nap_limits(parse_platform(load_dev_platform_raw()))
    nap_line = next(line for line in capacity.splitlines() if line.startswith("NAP limits"))
    assert f"cpu {limits.cpu}" in nap_line
    assert f"memory {limits.memory_gb} GB" in nap_line
    assert "nvidia-l4 146" in nap_line and "nvidia-tesla-a100 16" in nap_line


def test_plan_writes_every_resource_as_json(dev_plan, dev_capture):
    _, stdout, _, out = dev_plan
    resources = json.loads((out / "dev" / "resources.json").read_text())
    assert len(resources) == len(dev_capture.resources)
    assert f"Counts ({len(resources)} resources)" in stdout
    assert {r["urn"] for r in resources} == {r.urn for r in dev_capture.resources}
    cluster = next(r for r in resources if r["type"] == "gcp:container/cluster:Cluster")
    assert cluster["inputs"]["name"] == "batch-dev"


def test_resources_json_puts_each_field_on_a_line_with_its_value_compact():
    """The layout docs/operating.md describes (Reviewing a change), and it reads back as the same list."""
    resources = [{"urn": "b", "inputs": {"z": [1, None], "a": "é"}}, {"urn": "c", "inputs": {}}]
    text = "".join(resources_json(resources))
    assert text == ('[\n  {\n    "inputs": {"a": "\\u00e9", "z": [1, null]},\n    "urn": "b"\n  },\n'
                    '  {\n    "inputs": {},\n    "urn": "c"\n  }\n]\n')
    assert json.loads(text) == resources and json.loads("".join(resources_json([]))) == []


def _broken_config() -> dict:
    config = load_dev_config()
    raw = config[PLATFORM_KEY]
    raw["network"]["masterCidr"] = "172.16.0.0/24"
    raw["gpuPools"][2]["minNodes"] = 1
    raw["teams"][0]["queues"]["high"][0]["gpus"] = 4
    return config


def test_broken_stack_exits_2_listing_every_error(monkeypatch, capsys, tmp_path):
    """The real program runs (load_platform under mocks) and stops before creating anything."""
    real = components.stacks.stack_config
    monkeypatch.setattr(components.stacks, "stack_config", lambda stack: _broken_config() if stack == "dev" else real(stack))
    code = cli(["plan", "dev", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "nothing would be created" in err
    for path in ("network.masterCidr", "gpuPools[2].minNodes", "teams[0].queues.high[0].gpus"):
        assert f"{path}: " in err, path
    assert "3 error(s) in Pulumi.dev.yaml" in err
    assert "Resources:" not in out
    assert not (tmp_path / "dev" / "resources.json").exists()


def test_stack_without_platform_block_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(components.stacks, "stack_config", lambda stack: {})
    assert cli(["plan", "dev", "--out", str(tmp_path)]) == 2
    assert "gpu-batch-platform:platform" in capsys.readouterr().err


def test_unknown_stack_exits_2_and_lists_known_stacks(capsys, tmp_path):
    code = cli(["plan", "no-such-stack", "--out", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "Pulumi.no-such-stack.yaml" in err
    assert "known:" in err and "Pulumi.dev.yaml" in err


def test_platform_given_as_a_string_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(components.stacks, "stack_config", lambda stack: {PLATFORM_KEY: "oops"})
    assert cli(["plan", "dev", "--out", str(tmp_path)]) == 2
    assert "platform" in capsys.readouterr().err


def test_plan_prints_the_cost_section_and_writes_cost_and_picture(dev_plan):
    """The plan's cost section and files are the cost command's numbers (components/cost)."""
    from components.cost import cost_json
    from components.cost.report import summary_lines

    _, stdout, _, out = dev_plan
    platform = parse_platform(load_dev_platform_raw())
    section = stdout.split("\nCost (details: `python -m components.cli cost dev`):\n", 1)[1]
    assert section.startswith("\n".join(summary_lines(platform)))
    for team in ("team-a", "team-b", "team-c", "team-d"):
        assert re.search(rf"\n  {team} +\$", section), team
    written = json.loads((out / "dev" / "cost.json").read_text())
    assert written["summary"] == cost_json(platform, "dev")["summary"]
    for name in ("platform.html", "platform.md", "platform.svg"):
        assert (out / "dev" / name).stat().st_size > 0


def test_two_plans_of_one_stack_are_byte_identical(tmp_path):
    """The program registers its resources asynchronously, in an order that changes from process to process
    (string hashing is randomised per process unless PYTHONHASHSEED is set); the plan's files and printout
    must not. Two fresh processes with different hash seeds, as two users' runs would be."""
    runs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        runs.append((out, subprocess.Popen([sys.executable, "-m", "components.cli", "plan", "dev", "--out", str(out)],
                                           cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    printed = []
    for out, process in runs:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        printed.append(stdout.replace(str(out), "OUT"))
    assert printed[0] == printed[1]
    first, second = (sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) for out, _ in runs)
    assert first == second and "resources.json" in {p.name for p in first}
    for path in first:
        assert (runs[0][0] / path).read_bytes() == (runs[1][0] / path).read_bytes(), path


def test_written_manifests_are_the_captured_objects(dev_plan, dev_capture):
    """The manifests are written with libyaml's emitter: read back, they are exactly the objects captured."""
    from components.plan import embedded_configuration, kubernetes_object, manifest_key

    *_, out = dev_plan
    objects = [o for o in map(kubernetes_object, dev_capture.resources) if o]
    objects += [c for o in objects if o["kind"] == "HelmChart" for c in embedded_configuration(o)]
    written = [o for path in sorted((out / "dev" / "manifests").glob("*.yaml")) for o in yaml.safe_load_all(path.read_text())]
    assert sorted(written, key=manifest_key) == sorted(objects, key=manifest_key)


def test_the_mock_run_answers_engine_calls_without_worker_threads():
    """components/capture.py runs the mock monitor's calls inline: a run starts no thread, and the loop it
    borrowed gets its own executor back."""
    import asyncio
    import threading

    from components.capture import run_stack

    loop = asyncio.get_event_loop()
    executor, before = loop._default_executor, threading.active_count()
    capture = run_stack("dev")
    assert capture.resources and threading.active_count() == before
    assert loop._default_executor is executor
