"""The container's entry point: one launcher per pod starts one worker process per GPU (stdlib only).

`python -m <package>` (see contract.py) reads the pod's place in the job (topology.py), starts
`procs_per_pod` workers with the env:// variables torch.distributed reads, forwards SIGTERM/SIGINT to
them and exits with the code the Job's podFailurePolicy keys on:

- 0: training finished;
- EXIT_INTERRUPTED (75, EX_TEMPFAIL in sysexits.h: "temporary failure, the user is invited to retry"):
  the job was told to stop (this pod's SIGTERM, or a peer's, seen through the per-step stop flag) and
  rank 0 saved a checkpoint first; a retry resumes from it;
- EXIT_BAD_CONFIG (2): the environment does not describe a consistent job (message on stderr), a
  bug in the manifest that retrying cannot fix;
- anything else: the first failing worker's code (it wins over siblings that were stopped because
  of it and report 75; a worker killed by signal N gives 128+N).

Why not torchrun: its launcher turns any worker failure into its own exit code 1 (ChildFailedError,
torch 2.13.0 `torch/distributed/launcher/api.py`), so a preemption would look like a bug to the Job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Callable, Mapping, Optional, Sequence

from .settings import settings_from_env
from .topology import EnvError, PodTopology, pod_topology

EXIT_OK = 0
EXIT_BAD_CONFIG = 2
EXIT_INTERRUPTED = 75
# Seconds a worker gets after its sibling failed before it is killed (it may be blocked in a collective).
SIBLING_GRACE_S = 20.0


def worker_command() -> list[str]:
    return [sys.executable, "-m", f"{__package__}.train"]


def pod_exit_code(codes: Sequence[int]) -> int:
    """One pod exit code from its workers' codes (in local-rank order): a real failure wins (its
    siblings, stopped because of it, report interrupted), then interrupted, then success."""
    failures = [c for c in codes if c not in (EXIT_OK, EXIT_INTERRUPTED)]
    if failures:
        first = failures[0]
        return 128 - first if first < 0 else first  # killed by signal N: 128+N, as a shell reports it
    return EXIT_INTERRUPTED if EXIT_INTERRUPTED in codes else EXIT_OK


def run_workers(topology: PodTopology, env: Mapping[str, str], command: Sequence[str],
                install_signals: bool = True) -> int:
    """Start the pod's workers, forward stop signals, wait, and return the pod's exit code."""
    procs: list[subprocess.Popen] = []

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    if install_signals:
        # As PID 1 in a container, a signal without a handler is ignored: forward it explicitly
        # (installed before the workers start, so none is left behind).
        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
    for local in range(topology.procs_per_pod):
        procs.append(subprocess.Popen(list(command), env={**env, **topology.worker_env(local)}))
    deadline: Optional[float] = None
    while True:
        codes = [proc.poll() for proc in procs]
        if all(code is not None for code in codes):
            return pod_exit_code([code for code in codes if code is not None])
        if deadline is None and any(code not in (None, EXIT_OK) for code in codes):
            # A sibling stopped early; the rest may be blocked in a collective with it: ask them to stop.
            forward(signal.SIGTERM, None)
            deadline = time.monotonic() + SIBLING_GRACE_S
        if deadline is not None and time.monotonic() > deadline:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
        time.sleep(0.1)


def main(env: Optional[Mapping[str, str]] = None,
         command_factory: Callable[[], Sequence[str]] = worker_command) -> int:
    env = dict(os.environ if env is None else env)
    problems: list[str] = []
    topology = None
    try:
        topology = pod_topology(env)
    except EnvError as err:
        problems += err.problems
    try:
        settings_from_env(env)
    except EnvError as err:
        problems += err.problems
    if problems or topology is None:
        for problem in problems:
            print(f"training: {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    print(f"training: pod {topology.pod_rank}/{topology.pods}, {topology.procs_per_pod} process(es) per pod, "
          f"world {topology.world_size}, master {topology.master_addr}:{topology.master_port}", flush=True)
    return run_workers(topology, env, command_factory())


if __name__ == "__main__":
    sys.exit(main())
