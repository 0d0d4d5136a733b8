"""Inputs of bench/scale.py: the dev stack grown to T teams, and a program of N bare resources."""

from __future__ import annotations

import json

import pulumi

from components.stacks import PROJECT, stack_config


def config_for(teams: int) -> dict:
    """Dev with `teams` (even) teams in cohorts of two: each owns 2 on-demand (high), 2 spot (low) and 1
    compact A100 GPUs, borrows up to 2 from its cohort; pools and NAP grow so every quota fits."""
    config = json.loads(json.dumps(stack_config("dev")))
    p = config[f"{PROJECT}:platform"]
    p["cluster"]["systemPool"] = {"machineType": "e2-standard-4", "minNodes": 1, "maxNodes": 6}
    # Room for every node the pools and NAP can reach (the model checks node and pod ranges).
    p["network"].update(subnetCidr="10.40.0.0/20", podsCidr="10.64.0.0/12")
    pools = {pool["name"]: pool for pool in p["gpuPools"]}
    pools["l4-ondemand"]["maxNodes"] = teams
    pools["l4-spot"]["maxNodes"] = teams
    p["nodeAutoProvisioning"]["shapes"][0]["maxGpus"] = teams
    p["teams"] = []
    for i in range(teams):
        borrow = 2 if teams > 1 else None
        p["teams"].append({
            "name": f"t{i:04d}",
            "cohort": f"c{i // 2:03d}",
            "dws": i < 2,
            "queues": {
                "high": [{"flavor": "l4-ondemand", "gpus": 2, "borrowingLimit": borrow}],
                "low": [{"flavor": "l4-spot", "gpus": 2, "borrowingLimit": borrow}],
                "compact": [{"flavor": "a100-compact-spot", "gpus": 1, "borrowingLimit": 0}],
            },
        })
    p["gpuPools"] = [pool for pool in p["gpuPools"] if pool["provisioning"] != "reserved"]
    return config


def bare_program(count: int):
    """N custom resources with small inputs and no program logic: what the mock engine alone costs."""

    def program() -> None:
        for i in range(count):
            pulumi.CustomResource("bench:index:Bare", f"bare-{i}", {"index": i, "labels": {"a": "b"}})

    return program
