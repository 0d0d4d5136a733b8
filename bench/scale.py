"""The offline plan at 4 to 1000 teams against its floor, as ratios measured in one run (never a test).

    .venv/bin/python bench/scale.py [--teams 4 50 330 1000] [--runs 1] [--no-policy] [--profile TEAMS]

Per team count T, the dev stack grown to T teams (bench/scale_config.py: 3 ClusterQueues each,
cohorts of two, so 330 teams is ~1000 ClusterQueues, Kueue's `large-scale` shape,
kubernetes-sigs/kueue v0.19.2 test/performance/scheduler/configs/large-scale/generator.yaml):
- plan: the whole `plan` command (program run, printout, resources.json, manifests, cost files) in a
  fresh process, wall time and peak memory;
- floor: the plan's import floor (a fresh process importing every module the plan loaded) plus the
  mock engine replaying the same resources (type, name, inputs, parent, provider, dependencies,
  options: what the engine receives for each) with no program logic;
- policy: the `policy` command (program run + the pack) in a fresh process, against the plan.
Targets: plan <= 1.3x its floor, peak <= 1.2 GiB at 1000 teams, policy <= 1.3x the plan.
`--profile T` prints the top entries (cumulative and own time) of the T-team plan's cProfile instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import RECORD, REPO, against_floor, command, compile_project, load  # noqa: E402
from components.progress import Progress  # noqa: E402

MIB_TARGET = 1.2 * 1024


def as_stack(teams: int) -> str:
    """Make `<teams>-teams` a stack name the commands load: its config is dev grown to that many teams."""
    from components import stacks
    from bench.scale_config import config_for

    name, real = f"{teams}-teams", stacks.stack_config
    stacks.stack_config = lambda stack: config_for(teams) if stack == name else real(stack)
    return name


def _replay(resources_json: str) -> tuple[float, float]:
    """(wall, CPU) seconds the mock engine takes to register the same resources with no program logic: each
    with its type, name, inputs, parent, provider, dependencies and options as the plan recorded them
    (resources.json), created after its parent, provider and dependencies; local components register no outputs."""
    import pulumi

    from components.capture import run

    resources = json.loads(Path(resources_json).read_text())
    by_urn = {r["urn"]: r for r in resources}

    def provider_urn(r: dict) -> str | None:
        return r["provider"].rsplit("::", 1)[0] if r["provider"] else None

    ordered: list[dict] = []
    placed: set[str] = set()
    for start in resources:  # depth first over parent, provider and dependencies (none is deeper than a few)
        pending = [(start, False)]
        while pending:
            r, ready = pending.pop()
            if r["urn"] in placed:
                continue
            if ready:
                placed.add(r["urn"])
                ordered.append(r)
                continue
            pending.append((r, True))
            before = [r["parent"], provider_urn(r), *r["dependencies"]]
            pending.extend((by_urn[u], False) for u in before if u in by_urn and u not in placed)

    def options(r: dict, made: dict[str, pulumi.Resource]) -> pulumi.ResourceOptions:
        o = r["options"]
        return pulumi.ResourceOptions(
            parent=made.get(r["parent"]), provider=made.get(provider_urn(r) or ""),
            depends_on=[made[u] for u in r["dependencies"] if u in made],
            protect=o["protect"], delete_before_replace=o["deleteBeforeReplace"], retain_on_delete=o["retainOnDelete"],
            replace_on_changes=o["replaceOnChanges"] or None, ignore_changes=o["ignoreChanges"] or None,
            additional_secret_outputs=o["additionalSecretOutputs"] or None,
            custom_timeouts=pulumi.CustomTimeouts(**o["customTimeouts"]) if o["customTimeouts"] else None,
            aliases=[_alias(a) for a in o["aliases"]] or None,
        )

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for r in ordered:
            opts = options(r, made)
            if r["type"].startswith("pulumi:providers:"):
                made[r["urn"]] = pulumi.ProviderResource(r["type"].split(":")[2], r["name"], r["inputs"], opts)
            elif r["custom"]:
                made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], r["inputs"], opts)
            else:  # a remote one (helm.v4.Chart) is registered as such, with its inputs
                made[r["urn"]] = pulumi.ComponentResource(r["type"], r["name"], r["inputs"] or None, opts,
                                                          remote=r["options"]["remote"])

    start, cpu = time.perf_counter(), time.process_time()
    run(program, {}, "replay")
    return time.perf_counter() - start, time.process_time() - cpu


def engine_replay(resources: Path, runs: int = 1) -> tuple[float, float]:
    """Median (wall, CPU) seconds of `_replay` of `resources` (a plan's resources.json), each in a fresh process."""
    samples = []
    for _ in range(runs):
        command(["bench", "replay", str(resources), str(resources.with_name("replay.json"))], 1)
        done = json.loads(resources.with_name("replay.json").read_text())
        samples.append((done["run_s"], done["cpu_s"]))
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def _alias(recorded: dict):
    """The pulumi.Alias a recorded alias spec (components/capture.py `_alias`) came from."""
    import pulumi

    keys = {"name": "name", "type": "type_", "stack": "stack", "project": "project", "parentUrn": "parent"}
    return pulumi.Alias(**{keys[k]: v for k, v in recorded.items() if k in keys},
                        **({"parent": None} if recorded.get("noParent") else {}))


def child(argv: list[str]) -> int:
    """Inside a fresh process (bench/measure.py RECORD): `replay RESOURCES_JSON OUT_JSON` or
    `profile TEAMS OUT_DIR`."""
    if argv[0] == "replay":
        wall, cpu = _replay(argv[1])
        Path(argv[2]).write_text(json.dumps({"run_s": wall, "cpu_s": cpu}))
        return 0
    import cProfile
    import io
    import pstats
    from contextlib import redirect_stdout

    from components import plan

    stack, profile = as_stack(int(argv[1])), cProfile.Profile()
    with redirect_stdout(io.StringIO()):
        profile.runcall(plan.run, stack, Path(argv[2]))
    for order in ("cumulative", "tottime"):
        pstats.Stats(profile, stream=sys.stderr).sort_stats(order).print_stats(25)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, nargs="+", default=[4, 50, 330, 1000])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-policy", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="TEAMS")
    args = parser.parse_args()
    compile_project()
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            subprocess.run([sys.executable, "-c", RECORD.format(repo=str(REPO)), f"{tmp}/r.json", "bench", "profile",
                            str(args.profile), tmp], cwd=REPO)
            return
        print(f"machine load before: {load()}; medians of {args.runs} alternating run(s)")
        print("\n| teams | resources | plan s (CPU s) | import floor s | engine replay s | plan / floor (CPU) | peak MB "
              "| policy s | policy / plan (CPU) |")
        print("|---|---|---|---|---|---|---|---|---|")
        progress = Progress("bench-scale")
        for teams in args.teams:
            progress.phase(f"{teams} teams: the plan, its import floor and the engine replay ({args.runs} run(s))")
            resources = Path(tmp) / f"{teams}-teams" / "resources.json"

            plan = against_floor(["--teams", str(teams), "plan", f"{teams}-teams", "--out", tmp], args.runs,
                                 lambda: engine_replay(resources))
            count = len(json.loads(resources.read_text()))
            policy = "- | -"
            if not args.no_policy:
                progress.phase(f"{teams} teams: the policy pack")
                ran = command(["--teams", str(teams), "policy", f"{teams}-teams"], args.runs)
                policy = f"{ran['s']:.1f} | {ran['s'] / plan['s']:.2f} ({ran['cpu'] / plan['cpu']:.2f})"
            print(f"| {teams} | {count} | {plan['s']:.1f} ({plan['cpu']:.1f}) | {plan['floor_s']:.2f} | "
                  f"{plan['extra'][0]:.1f} | {plan['ratio']:.2f} ({plan['ratio_cpu']:.2f}) | {plan['peak_mb']:.0f} | "
                  f"{policy} |", flush=True)
        print(f"\ntargets: plan / floor <= 1.3; peak <= {MIB_TARGET:.0f} MB at 1000 teams; policy / plan <= 1.3")
        print(f"machine load after: {load()}")


if __name__ == "__main__":
    main()
