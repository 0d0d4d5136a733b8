"""The dev stack's commands against their floors, as ratios measured in one run (never a timed test).

    .venv/bin/python bench/plan_time.py [--runs 5]

`plan`, `explain` and `policy` of dev against their import floors; `--help` and `cost` against a bare
`import pulumi` (bench/measure.py: alternating fresh processes, medians, the machine's load printed).
Targets: plan <= 1.1x its floor; explain and policy <= 1.2x theirs; --help and cost <= 1.2x pulumi.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import against_code, against_floor, load  # noqa: E402

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
    print(f"machine load before: {load()}; medians of {runs} alternating runs")
    with tempfile.TemporaryDirectory() as out:
        for what, argv, target in COMMANDS:
            r = against_floor([a.format(out=out) for a in argv], runs)
            print(f"{what}: {r['s']:.2f} s wall, {r['cpu']:.2f} s CPU, peak {r['peak_mb']:.0f} MB | import floor "
                  f"({len(r['modules'])} modules) {r['floor_s']:.2f} s wall, {r['floor_cpu']:.2f} s CPU | ratio "
                  f"{r['ratio']:.2f} wall, {r['ratio_cpu']:.2f} CPU (target <= {target}) {verdict(r['ratio'], target)}")
    for what, argv in LIGHT:
        r = against_code(argv, "import pulumi", runs)
        print(f"{what}: {r['s']:.2f} s | bare `import pulumi` {r['floor_s']:.2f} s | ratio {r['ratio']:.2f} wall, "
              f"{r['ratio_cpu']:.2f} CPU (target <= 1.2) {verdict(r['ratio'], 1.2)}")
    print(f"machine load after: {load()}")


if __name__ == "__main__":
    main()
