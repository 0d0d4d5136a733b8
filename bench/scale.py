"""Offline plan at scale: time and peak memory for 4, 50, 330 and 1000 teams, as ratios (never a test).

    .venv/bin/python bench/scale.py [--teams 4 50 330 1000] [--profile N]

Every figure comes from a fresh process on this machine, in one run:
- import floor: importing pulumi + pulumi_gcp + pulumi_kubernetes (what any plan pays first);
- mock engine per resource: registering N bare custom resources under the same mock runtime
  (`components.offline.run`), divided by N: the engine's own cost, which no program can go below;
- the program for T teams: the dev stack with T teams (3 ClusterQueues each, cohorts of two, so
  330 teams is ~1000 ClusterQueues, Kueue's `large-scale` performance shape, kubernetes-sigs/kueue v0.19.2
  test/performance/scheduler/configs/large-scale/generator.yaml), quotas
  sized so the model accepts it. Time is the program run after imports; memory is the process peak.
The table gives, per team count: resources, seconds, seconds per resource over the engine's own cost
per resource (1.0 = the program adds nothing), time and memory ratios to the 4-team run.
`--profile T` prints the top cumulative cProfile entries of the T-team run instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import pulumi, pulumi_gcp, pulumi_kubernetes
imported = time.perf_counter() - t0
sys.path.insert(0, {repo!r})
mode, n = sys.argv[1], int(sys.argv[2])
out = {{"import_s": imported}}
if mode != "floor":
    from components.offline import run
    from bench.scale_config import bare_program, config_for
    if mode == "engine":
        program, config = bare_program(n), {{}}
    else:
        from components.platform import build_platform
        program, config = build_platform, config_for(n)
    if len(sys.argv) > 3:
        import cProfile, pstats
        prof = cProfile.Profile(); prof.enable()
    t1 = time.perf_counter()
    capture = run(program, config, "bench")
    out["run_s"] = time.perf_counter() - t1
    out["resources"] = len(capture.resources)
    if len(sys.argv) > 3:
        prof.disable(); pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(int(sys.argv[3]))
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(mode: str, n: int, profile: int = 0) -> dict:
    args = [sys.executable, "-c", CHILD.format(repo=str(REPO)), mode, str(n)] + ([str(profile)] if profile else [])
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{mode} {n} failed:\n{done.stderr[-3000:]}")
    if profile:
        print(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, nargs="+", default=[4, 50, 330, 1000])
    parser.add_argument("--engine-resources", type=int, default=2000)
    parser.add_argument("--profile", type=int, default=0, metavar="TEAMS")
    args = parser.parse_args()
    if args.profile:
        child("program", args.profile, profile=40)
        return
    floor = child("floor", 0)
    engine = child("engine", args.engine_resources)
    per_resource = engine["run_s"] / engine["resources"]
    print(f"import floor (pulumi + pulumi_gcp + pulumi_kubernetes): {floor['import_s']:.2f} s, peak {floor['peak_mb']:.0f} MB")
    print(f"mock engine: {engine['resources']} bare resources in {engine['run_s']:.2f} s = "
          f"{per_resource * 1000:.2f} ms/resource, peak {engine['peak_mb']:.0f} MB")
    rows = []
    for teams in args.teams:
        r = child("program", teams)
        rows.append((teams, r))
        print(f"  ran {teams} teams: {r['resources']} resources, {r['run_s']:.1f} s, {r['peak_mb']:.0f} MB", file=sys.stderr)
    base = rows[0][1]
    print("\n| teams | resources | plan s | ms / resource | x engine cost | time / 4-team | resources / 4-team "
          "| peak MB | peak MB over import floor | memory / 4-team |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for teams, r in rows:
        per = r["run_s"] / r["resources"]
        over = r["peak_mb"] - floor["peak_mb"]
        print(f"| {teams} | {r['resources']} | {r['run_s']:.1f} | {per * 1000:.2f} | {per / per_resource:.1f} "
              f"| {r['run_s'] / base['run_s']:.1f} | {r['resources'] / base['resources']:.1f} | {r['peak_mb']:.0f} "
              f"| {over:.0f} | {over / max(base['peak_mb'] - floor['peak_mb'], 1):.1f} |")


if __name__ == "__main__":
    main()
