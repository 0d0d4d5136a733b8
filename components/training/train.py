"""One DDP worker process (started by launch.py, or by torchrun: it reads the same env:// names).

Trains a small MLP on synthetic regression data (no downloads): the batch of step s on rank r is drawn
from a generator seeded by (seed, s, r), so a run resumed at step s sees exactly the batches an
uninterrupted run would, and its final weights are the same.

Preemption: SIGTERM only reaches the pods on the node being reclaimed (GKE gives them 15 s, "Spot VMs"
in the GKE docs), so each step starts with a one-element all-reduce(MAX) of a stop flag;
when any rank was signalled, every rank stops after the same step, rank 0 writes a checkpoint and all
exit with EXIT_INTERRUPTED. On start, rank 0 picks the newest checkpoint that verifies and broadcasts
its step; every rank loads that one (model and optimizer state) and continues from there.
"""

from __future__ import annotations

import datetime
import io
import os
import signal
import sys
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .checkpoints import CheckpointDir, resume_step
from .launch import EXIT_BAD_CONFIG, EXIT_INTERRUPTED, EXIT_OK
from .settings import Settings, checkpoint_due, settings_from_env
from .topology import ENV_LOCAL_RANK, ENV_RANK, ENV_WORLD_SIZE, EnvError

FEATURES, HIDDEN, BATCH = 16, 32, 64
LEARNING_RATE, MOMENTUM = 0.05, 0.9
LOG_EVERY = 10


def build_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))


def synthetic_batch(seed: int, step: int, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (inputs, targets) of `step` on `rank`: a fixed nonlinear target plus noise."""
    truth = torch.randn(FEATURES, 1, generator=torch.Generator().manual_seed(seed)) / FEATURES**0.5
    gen = torch.Generator().manual_seed((seed << 40) + (step << 12) + rank)
    x = torch.randn(BATCH, FEATURES, generator=gen)
    return x, torch.sin(x @ truth) + 0.1 * torch.randn(BATCH, 1, generator=gen)


def serialize(step: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> bytes:
    buffer = io.BytesIO()
    torch.save({"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    return buffer.getvalue()


def deserialize(payload: bytes) -> dict:
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)


class StopFlag:
    """Set by SIGTERM/SIGINT; read once per step by every rank through an all-reduce."""

    def __init__(self) -> None:
        self.raised = False
        signal.signal(signal.SIGTERM, self._raise)
        signal.signal(signal.SIGINT, self._raise)

    def _raise(self, signum: int, _frame: object) -> None:
        print(f"training: received {signal.Signals(signum).name}; checkpointing after this step", flush=True)
        self.raised = True

    def any_rank(self, device: torch.device) -> bool:
        flag = torch.tensor([1 if self.raised else 0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


def train(settings: Settings, rank: int, world: int, local_rank: int) -> int:
    stop = StopFlag()
    backend = settings.backend
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(1)  # same reduction order every run, no oversubscription
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=settings.rendezvous_timeout_s))
    model = build_model(settings.seed).to(device)
    ddp = DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda" else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    checkpoints = CheckpointDir(settings.checkpoint_dir)

    chosen = torch.tensor([-1], device=device)
    latest = checkpoints.latest() if rank == 0 else None
    if latest is not None:
        chosen.fill_(latest[0])
    dist.broadcast(chosen, src=0)
    saved = int(chosen.item())
    if saved >= 0:
        payload = latest[1] if latest is not None else checkpoints.read(saved)
        if payload is None:
            raise RuntimeError(f"rank {rank} cannot read checkpoint step {saved} that rank 0 chose "
                               f"in {settings.checkpoint_dir}")
        state = deserialize(payload)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if rank == 0:
            print(f"training: resumed from checkpoint step {saved}", flush=True)
    step = resume_step(saved if saved >= 0 else None, settings.steps)

    def save(at: int) -> None:
        nonlocal saved
        path = checkpoints.write(at, serialize(at, model, optimizer))
        checkpoints.rotate(settings.keep_checkpoints, at)
        saved = at
        print(f"training: checkpoint {path}", flush=True)

    while step < settings.steps:
        if stop.any_rank(device):
            break
        x, y = synthetic_batch(settings.seed, step, rank)
        loss = nn.functional.mse_loss(ddp(x.to(device)), y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if rank == 0:
            if step % LOG_EVERY == 0:
                print(f"training: step {step}/{settings.steps} loss {loss.item():.6f}", flush=True)
            if checkpoint_due(step, settings):
                save(step)
        if settings.step_sleep_s:
            time.sleep(settings.step_sleep_s)

    interrupted = step < settings.steps
    if interrupted and rank == 0 and saved != step:
        save(step)
    dist.barrier()  # nobody leaves before rank 0's checkpoint is written
    dist.destroy_process_group()
    if interrupted:
        print(f"training: rank {rank} stopped at step {step}; resume continues from there", flush=True)
        return EXIT_INTERRUPTED
    if rank == 0:
        print(f"training: done, {settings.steps} steps", flush=True)
    return EXIT_OK


def main() -> int:
    env = os.environ
    try:
        settings = settings_from_env(env)
    except EnvError as err:
        for problem in err.problems:
            print(f"training: {problem}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    return train(settings, int(env.get(ENV_RANK, "0")), int(env.get(ENV_WORLD_SIZE, "1")),
                 int(env.get(ENV_LOCAL_RANK, "0")))


if __name__ == "__main__":
    sys.exit(main())
