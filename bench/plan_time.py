"""The dev stack's commands against their floors, as ratios measured in one run (never a timed test).

    .venv/bin/python bench/plan_time.py [--runs 5]

`plan`, `explain` and `policy` of dev against their import floors; `--help` and `cost` against a bare
`import pulumi` (bench/measure.py: alternating fresh processes, medians, the machine's load printed).
Targets: plan <= 1.1x its floor; explain and policy <= 1.2x theirs; --help and cost <= 1.2x pulumi.
Next to each of the first three: the mock engine alone registering the same resources (bench/scale.py's
`engine_replay` of the plan's resources.json, fresh processes, median), as a share of that import floor, and the
command against import floor + engine: the part of the command that is neither imports nor engine.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import against_code, against_floor, compile_project, load  # noqa: E402
from bench.scale import engine_replay  # noqa: E402

COMMANDS = (  # (what, argv, target ratio to its own import floor)
    ("plan dev", ["plan", "dev", "--out", "{out}"], 1.1),
    ("explain dev --team team-a --kind high", ["explain", "dev", "--team", "team-a", "--kind", "high"], 1.2),
    ("policy dev", ["policy", "dev"], 1.2),
)
LIGHT = (("--help", ["--help"]), ("cost dev", ["cost", "dev"]))


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    compile_project()
    print(f"machine load before: {load()}; medians of {runs} alternating runs")
    with tempfile.TemporaryDirectory() as out:
        # Measured once, after the first plan wrote resources.json; explain and policy register the same resources.
        engine = functools.cache(lambda: engine_replay(Path(out) / "dev" / "resources.json", runs))
        for what, argv, target in COMMANDS:
            r = against_floor([a.format(out=out) for a in argv], runs, engine)
            print(f"{what}: {r['s']:.2f} s wall, {r['cpu']:.2f} s CPU, peak {r['peak_mb']:.0f} MB | import floor "
                  f"({len(r['modules'])} modules) {r['floor_s']:.2f} s wall, {r['floor_cpu']:.2f} s CPU | ratio "
                  f"{r['ratio_imports']:.2f} wall (target <= {target}) {verdict(r['ratio_imports'], target)} | "
                  f"engine alone {r['extra'][0]:.2f} s = {r['extra_ratio']:.2f}x the import floor | command / "
                  f"(import floor + engine) {r['ratio']:.2f} wall, {r['ratio_cpu']:.2f} CPU")
    for what, argv in LIGHT:
        r = against_code(argv, "import pulumi", runs)
        print(f"{what}: {r['s']:.2f} s | bare `import pulumi` {r['floor_s']:.2f} s | ratio {r['ratio']:.2f} wall, "
              f"{r['ratio_cpu']:.2f} CPU (target <= 1.2) {verdict(r['ratio'], 1.2)}")
    print(f"machine load after: {load()}")


if __name__ == "__main__":
    main()
