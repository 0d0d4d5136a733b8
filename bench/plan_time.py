"""Offline-plan speed, reported as ratios measured in one run (never as a timed test).

    .venv/bin/python bench/plan_time.py [--runs 3]

Measures, on this machine: the wall time of `python -m components.cli plan dev` in fresh processes
(what a user waits for), the share of it spent validating Kubernetes manifests, and how the
in-process program run scales from the 4-team dev stack to a 16-team variant.
Targets: validation <= 15 % of the plan; 16 teams <= 3x the 4-team run (cost grows with teams,
not worse than linearly).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from components.kubernetes.layer import validate_manifests  # noqa: E402
from components.model import parse_platform  # noqa: E402
from components.offline import PROJECT, run_stack, stack_config  # noqa: E402


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def sixteen_teams(config: dict) -> dict:
    """Dev with 16 teams in 8 cohorts; quotas scaled so the capacity invariant still holds."""
    grown = copy.deepcopy(config)
    platform = grown[f"{PROJECT}:platform"]
    template = copy.deepcopy(platform["teams"][2])
    template["queues"] = {"low": [{"flavor": "l4-spot", "gpus": 4}], "compact": [{"flavor": "a100-compact-spot", "gpus": 1}]}
    platform["teams"] = []
    for i in range(16):
        team = copy.deepcopy(template)
        team.update(name=f"team-{i:02d}", cohort=f"cohort-{i // 2}")
        platform["teams"].append(team)
    platform["dws"] = None
    platform["gpuPools"] = [p for p in platform["gpuPools"] if p["provisioning"] != "dws"]
    return grown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    dev = stack_config("dev")
    platform = parse_platform(dev[f"{PROJECT}:platform"])
    big = sixteen_teams(dev)
    run_stack("dev")  # warm imports and schema caches once, so the in-process numbers compare runs only

    plan_wall = statistics.median(wall([sys.executable, "-m", "components.cli", "plan", "dev", "--out", "build/bench"]) for _ in range(runs))
    validate = timed(lambda: validate_manifests(platform), runs)
    dev_run = timed(lambda: run_stack("dev"), runs)
    big_run = timed(lambda: run_stack("dev", config=big), runs)

    print(f"offline plan of dev, fresh process (median of {runs}): {plan_wall:.2f} s")
    print(f"program run in-process: dev {dev_run:.3f} s, 16 teams {big_run:.3f} s")
    print(f"ratio validation / dev program run: {validate / dev_run:.3f} (target <= 0.15)")
    print(f"ratio 16-team / 4-team program run: {big_run / dev_run:.2f} (target <= 3.0)")


if __name__ == "__main__":
    main()
