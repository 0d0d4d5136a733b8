"""What bench/plan_time.py and bench/scale.py share: fresh-process timings and the floors they compare to.

A command and its floor run alternately, in fresh `python` processes, so both see the same load on a
shared machine; every figure is a median, and every ratio the median of the per-pair ratios, by wall
time (what a user waits for) and by CPU time (steadier when others load the machine). Floors:
- a command's import floor: a fresh process that only imports every module the command ended up
  loading (its own and the libraries'), collector off, then exits the way the CLI does;
- the mock engine's floor (bench/scale.py `_replay`): the same resources replayed as generic resources under
  the same mock runtime with what the engine receives for each (type, name, inputs, parent, provider,
  dependencies, options), with no program logic;
- for `--help` and `cost`: a bare `import pulumi`.
Every process reads the project's code as compiled bytecode (`compile_project`), as a user's Python does from
its second run on: the libraries are installed compiled, so a run that compiled our sources each time would
compare compiling them against `import pulumi`, which compiles nothing.
"""

from __future__ import annotations

import compileall
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]

# Runs `python -m components.cli ARGV` as a user does (its __main__, exit included) and records the
# modules it loaded and its peak memory once the command is done. argv[1]: the JSON file to write;
# then `--teams T` to make the stack `T-teams` the dev stack grown to T teams (bench/scale_config.py),
# or `bench MODE ...` for bench/scale.py's own children; then the CLI's arguments. A module the SDKs
# registered lazily (importlib.util.LazyLoader) and the command never touched is not recorded:
# importing it by name would execute it.
RECORD = r"""
import json, os, resource, runpy, sys
sys.path.insert(0, {repo!r})
report, argv = sys.argv[1], sys.argv[2:]

def record(code):
    with open(report, "w") as f:
        json.dump({{"code": code, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "modules": sorted(n for n, m in sys.modules.items() if type(m).__name__ != "_LazyModule")}}, f)
    return code

if argv[0] == "bench":
    import gc
    gc.disable()  # as the CLI runs (components/cli/__main__.py), from the start: a floor pays no more than the plan
    from bench.scale import child
    record(child(argv[1:]))
    os._exit(0)
if argv[0] == "--teams":
    from bench.scale import as_stack
    as_stack(int(argv[1]))
    argv = argv[2:]
import components.cli
cli_main = components.cli.main
components.cli.main = lambda args=None: record(cli_main(args))
sys.argv = ["components.cli", *argv]
runpy.run_module("components.cli", run_name="__main__", alter_sys=True)
"""

IMPORT_FLOOR = r"""
import gc, importlib, json, os, resource, sys
gc.disable()  # as the CLI runs: the floor is the least any implementation pays
sys.path.insert(0, {repo!r})
failed = []
for name in json.load(open(sys.argv[1])):
    try:
        module = importlib.import_module(name)
        # A package an SDK registered lazily (pulumi_gcp.kms) comes back unexecuted; the command ran its
        # __init__ (it is recorded only once loaded), so the floor asks it for an attribute, which loads it.
        hasattr(module, "_floor_loads_it")
    except Exception:
        failed.append(name)
with open(sys.argv[2], "w") as f:
    json.dump({{"failed": failed, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}, f)
os._exit(0)
"""


def compile_project() -> None:
    """Write the bytecode of the project's code (its __pycache__ is git-ignored). A Python that writes no
    bytecode (PYTHONDONTWRITEBYTECODE, as some sandboxes and CI images set) still reads what is there."""
    for folder in ("components", "policies", "bench"):
        compileall.compile_dir(REPO / folder, quiet=1, rx=re.compile(r"[/\\]venv[/\\]"))  # not a policy pack's own venv


def _run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process: the wall is what a user waits for, the CPU time
    what the process itself did (steadier than the wall when others load the machine)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args[3:8])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _record(argv: list[str], report: Path) -> list[str]:
    return [sys.executable, "-c", RECORD.format(repo=str(REPO)), str(report), *argv]


def _floor(modules: list[str], tmp: str) -> list[str]:
    listed = Path(tmp) / "modules.json"
    listed.write_text(json.dumps([m for m in modules if not m.endswith("__main__") and not m.startswith("bench")]))
    return [sys.executable, "-c", IMPORT_FLOOR.format(repo=str(REPO)), str(listed), str(Path(tmp) / "floor.json")]


def command(argv: list[str], runs: int) -> dict:
    """`argv` alone in fresh processes: medians of wall and CPU seconds, and what RECORD wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        samples = [_run(_record(argv, report)) for _ in range(runs)]
        result = json.loads(report.read_text())
    return {**result, "s": statistics.median(w for w, _ in samples), "cpu": statistics.median(c for _, c in samples)}


def against_floor(argv: list[str], runs: int, extra: Callable[[], tuple[float, float]] = lambda: (0.0, 0.0)) -> dict:
    """`argv` and its import floor run alternately `runs` times (so both see the same load): medians of the
    command's wall and CPU seconds, of the floor's, and of the per-pair ratios command / (floor + extra),
    where `extra()` (wall, CPU seconds), called once after the first run, adds to the floor; also
    command / floor (`ratio_imports`) and extra / floor (`extra_ratio`), by wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        first = _run(_record(argv, report))  # also lists the modules the command loads
        result = json.loads(report.read_text())
        floor_cmd = _floor(result["modules"], tmp)
        added = extra()
        pairs = [(first if i == 0 else _run(_record(argv, report)), _run(floor_cmd)) for i in range(runs)]
        failed = json.loads((Path(tmp) / "floor.json").read_text())["failed"]
    med = statistics.median
    return {**result, "failed": failed, "s": med(c[0] for c, _ in pairs), "cpu": med(c[1] for c, _ in pairs),
            "floor_s": med(f[0] for _, f in pairs), "floor_cpu": med(f[1] for _, f in pairs), "extra": added,
            "ratio": med(c[0] / (f[0] + added[0]) for c, f in pairs),
            "ratio_cpu": med(c[1] / (f[1] + added[1]) for c, f in pairs),
            "ratio_imports": med(c[0] / f[0] for c, f in pairs), "extra_ratio": med(added[0] / f[0] for _, f in pairs)}


def against_code(argv: list[str], code: str, runs: int) -> dict:
    """`argv` and `python -c code` run alternately; medians as in against_floor."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        pairs = [(_run(_record(argv, report)), _run([sys.executable, "-c", code])) for _ in range(runs)]
    med = statistics.median
    return {"s": med(c[0] for c, _ in pairs), "floor_s": med(f[0] for _, f in pairs),
            "ratio": med(c[0] / f[0] for c, f in pairs), "ratio_cpu": med(c[1] / f[1] for c, f in pairs)}


def load() -> str:
    """The machine's load averages, printed next to the figures (the dev machine is shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
