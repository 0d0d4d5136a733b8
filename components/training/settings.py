"""The training run's knobs, read from the environment (pure, no torch); every bad value reported at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .topology import EnvError, env_number

ENV_CHECKPOINT_DIR = "CHECKPOINT_DIR"
ENV_STEPS = "TRAIN_STEPS"
ENV_CHECKPOINT_EVERY = "TRAIN_CHECKPOINT_EVERY"
ENV_KEEP_CHECKPOINTS = "TRAIN_KEEP_CHECKPOINTS"
ENV_SEED = "TRAIN_SEED"
ENV_BACKEND = "TRAIN_BACKEND"
ENV_STEP_SLEEP_S = "TRAIN_STEP_SLEEP_S"
ENV_TIMEOUT_S = "TRAIN_RENDEZVOUS_TIMEOUT_S"

BACKENDS = ("auto", "nccl", "gloo")


@dataclass(frozen=True)
class Settings:
    checkpoint_dir: str
    steps: int = 200
    checkpoint_every: int = 50
    keep_checkpoints: int = 3
    seed: int = 0
    backend: str = "auto"  # nccl when CUDA is available, else gloo
    step_sleep_s: float = 0.0  # slows a demo/test run down so it can be interrupted mid-way
    # How long ranks wait for each other at start and in collectives: a restarted pod may wait for
    # its peers' replacements (a preempted node coming back) before rendezvous completes.
    rendezvous_timeout_s: int = 1800


def settings_from_env(env: Mapping[str, str]) -> Settings:
    problems: list[str] = []

    directory = env.get(ENV_CHECKPOINT_DIR, "")
    if not directory:
        problems.append(f"{ENV_CHECKPOINT_DIR} is unset: set it to the job's directory in the mounted team bucket, "
                        f"e.g. /data/checkpoints/<job>")
    backend = env.get(ENV_BACKEND, "auto") or "auto"
    if backend not in BACKENDS:
        problems.append(f"{ENV_BACKEND}={backend!r} is not one of {', '.join(BACKENDS)}")
    defaults = Settings(checkpoint_dir="")
    settings = Settings(
        checkpoint_dir=directory,
        steps=env_number(env, ENV_STEPS, defaults.steps, 1, problems),
        checkpoint_every=env_number(env, ENV_CHECKPOINT_EVERY, defaults.checkpoint_every, 1, problems),
        keep_checkpoints=env_number(env, ENV_KEEP_CHECKPOINTS, defaults.keep_checkpoints, 1, problems),
        seed=env_number(env, ENV_SEED, defaults.seed, 0, problems),
        backend=backend,
        step_sleep_s=env_number(env, ENV_STEP_SLEEP_S, defaults.step_sleep_s, 0.0, problems, kind=float),
        rendezvous_timeout_s=env_number(env, ENV_TIMEOUT_S, defaults.rendezvous_timeout_s, 1, problems),
    )
    if problems:
        raise EnvError(problems)
    return settings


def checkpoint_due(step: int, settings: Settings) -> bool:
    """Whether to save after completing `step` steps: every `checkpoint_every` and at the end."""
    return step % settings.checkpoint_every == 0 or step == settings.steps
