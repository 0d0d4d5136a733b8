"""Where this process sits in the training job, read from the pod's environment (pure, no torch).

A pod is one "node" of the job; it runs `procs_per_pod` worker processes (one per GPU). Pods are
numbered across the whole job: JobSet Job index × pods per Job + the pod's completion index.

Sources:
- Kubernetes Indexed Job: the control plane sets `JOB_COMPLETION_INDEX` in every container of an
  Indexed Job's pod (kubernetes.io/docs/tasks/job/indexed-parallel-processing-static, "Indexed Job
  for Parallel Processing with Static Work Assignment"); the pod's hostname is
  `<job-name>-<completion-index>` and resolves through a headless Service named by the pod's
  `subdomain` (kubernetes.io/docs/tasks/job/job-with-pod-to-pod-communication).
- JobSet v0.12.0 `api/jobset/v1alpha2/jobset_types.go`: every child Job and pod carries the
  labels/annotations `jobset.sigs.k8s.io/job-index` (0..replicas-1 within its replicatedJob) and
  `jobset.sigs.k8s.io/replicatedjob-replicas` (set in `pkg/controllers/jobset_controller.go`
  `labelAndAnnotateObject`); the renderer passes them in through the downward API. Child Jobs are
  named `<jobset>-<replicatedJob>-<jobIndex>` (`pkg/util/placement/placement.go` GenJobName), and
  with `network.enableDNSHostnames` a pod is reachable at
  `<jobset>-<replicatedJob>-<jobIndex>-<podIndex>.<subdomain>` (subdomain defaults to the JobSet name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

# Set by the Job controller for Indexed Jobs.
ENV_COMPLETION_INDEX = "JOB_COMPLETION_INDEX"
# Set by the renderer (downward API from JobSet's annotations; absent for a plain Job).
ENV_JOB_INDEX = "TRAIN_JOB_INDEX"
ENV_JOBS = "TRAIN_JOBS"
# Set by the renderer as literals.
ENV_PODS_PER_JOB = "TRAIN_PODS_PER_JOB"
ENV_PROCS_PER_POD = "TRAIN_PROCS_PER_POD"
# torch.distributed's env:// rendezvous reads these names itself.
ENV_MASTER_ADDR = "MASTER_ADDR"
ENV_MASTER_PORT = "MASTER_PORT"
# What the launcher hands each worker process (the names torchrun also uses).
ENV_RANK = "RANK"
ENV_LOCAL_RANK = "LOCAL_RANK"
ENV_WORLD_SIZE = "WORLD_SIZE"

DEFAULT_MASTER_PORT = 29500  # torch.distributed's default rendezvous port
LOCALHOST = "127.0.0.1"


class EnvError(ValueError):
    """The environment does not describe a consistent job; `problems` lists each one with its fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class PodTopology:
    """This pod's place in the job."""

    pod_rank: int  # 0..pods-1 across the whole job
    pods: int
    procs_per_pod: int
    master_addr: str
    master_port: int

    @property
    def world_size(self) -> int:
        return self.pods * self.procs_per_pod

    def rank(self, local_rank: int) -> int:
        return self.pod_rank * self.procs_per_pod + local_rank

    def worker_env(self, local_rank: int) -> dict[str, str]:
        """The env:// variables for worker `local_rank` of this pod."""
        return {
            ENV_RANK: str(self.rank(local_rank)),
            ENV_LOCAL_RANK: str(local_rank),
            ENV_WORLD_SIZE: str(self.world_size),
            ENV_MASTER_ADDR: self.master_addr,
            ENV_MASTER_PORT: str(self.master_port),
        }


def env_number(env: Mapping[str, str], name: str, default, minimum, problems: list[str], fix: str = "", kind=int):
    """`name` from `env` read as `kind` (int or float); `default` when unset, and also when it is not a
    number or is below `minimum`, after adding that problem (with `fix`, when given) to `problems`."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    hint = f": {fix}" if fix else ""
    try:
        value = kind(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not {'an integer' if kind is int else 'a number'}{hint}")
        return default
    if value < minimum:
        problems.append(f"{name}={value} must be >= {minimum}{hint}")
        return default
    return value


def pod_topology(env: Mapping[str, str]) -> PodTopology:
    """This pod's topology from its environment; every inconsistency reported at once (EnvError).

    With none of the variables set, the pod is a one-pod, one-process job (a plain Job).
    """
    problems: list[str] = []
    completion = env_number(env, ENV_COMPLETION_INDEX, 0, 0, problems,
                            "the Job controller sets it for completionMode: Indexed")
    pods_per_job = env_number(env, ENV_PODS_PER_JOB, 1, 1, problems, "set it to the Job's completions")
    job_index = env_number(env, ENV_JOB_INDEX, 0, 0, problems,
                           "pass metadata.annotations['jobset.sigs.k8s.io/job-index'] via the downward API")
    jobs = env_number(env, ENV_JOBS, 1, 1, problems,
                      "pass metadata.annotations['jobset.sigs.k8s.io/replicatedjob-replicas'] via the downward API")
    procs = env_number(env, ENV_PROCS_PER_POD, 1, 1, problems, "set it to the GPUs per pod (1 on CPU)")
    port = env_number(env, ENV_MASTER_PORT, DEFAULT_MASTER_PORT, 1, problems, "set the rendezvous port")
    if port > 65535:
        problems.append(f"{ENV_MASTER_PORT}={port} is not a port: set the rendezvous port (1..65535)")
    if not problems:
        if completion >= pods_per_job:
            problems.append(f"{ENV_COMPLETION_INDEX}={completion} is not below {ENV_PODS_PER_JOB}={pods_per_job}: "
                            f"set {ENV_PODS_PER_JOB} to the Job's completions")
        if job_index >= jobs:
            problems.append(f"{ENV_JOB_INDEX}={job_index} is not below {ENV_JOBS}={jobs}: pass both from the "
                            f"JobSet annotations")
    pods = jobs * pods_per_job
    master = env.get(ENV_MASTER_ADDR, "")
    if not master:
        if pods > 1:
            problems.append(f"{ENV_MASTER_ADDR} is unset for a {pods}-pod job: set it to the rank-0 pod's hostname "
                            f"(jobset_master_addr / indexed_job_master_addr)")
        master = LOCALHOST
    if problems:
        raise EnvError(problems)
    return PodTopology(pod_rank=job_index * pods_per_job + completion, pods=pods, procs_per_pod=procs,
                       master_addr=master, master_port=port)


def indexed_job_master_addr(job: str, subdomain: str) -> str:
    """Rank 0 of an Indexed Job: pod hostname `<job>-0` under the headless Service `subdomain`."""
    return f"{job}-0.{subdomain}"


def jobset_master_addr(jobset: str, replicated_job: str, subdomain: str | None = None) -> str:
    """Rank 0 of a JobSet: `<jobset>-<replicatedJob>-0-0.<subdomain>` (JobSet's Network doc comment)."""
    return f"{jobset}-{replicated_job}-0-0.{subdomain or jobset}"
