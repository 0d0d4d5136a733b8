"""A real 2-pod CPU (gloo) training run, interrupted and resumed (`make test-torch`; not in CI).

Each "pod" is one launcher process (`python -m components.training`) with the env the renderer gives an
Indexed Job's pod (JOB_COMPLETION_INDEX 0/1, TRAIN_PODS_PER_JOB=2, MASTER_ADDR/PORT), talking over
loopback. Preemption is played as GKE does it: SIGTERM to one pod only (the pods on the reclaimed
node, "Spot VMs" in the GKE docs), and a hard kill (SIGKILL, node lost) of both.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.training import checkpoints as ck

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
STEPS = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_job(directory: Path, sleep_s: float = 0.0, pods_count: int = 2) -> list[subprocess.Popen]:
    """`pods_count` pods of one Indexed Job; the world is always 2 ranks (1 pod x 2 GPUs or 2 x 1)."""
    port = str(_free_port())
    pods = []
    for index in range(pods_count):
        env = {**os.environ, "JOB_COMPLETION_INDEX": str(index), "TRAIN_PODS_PER_JOB": str(pods_count),
               "TRAIN_PROCS_PER_POD": str(2 // pods_count),
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "CHECKPOINT_DIR": str(directory),
               "TRAIN_STEPS": str(STEPS), "TRAIN_CHECKPOINT_EVERY": "10", "TRAIN_KEEP_CHECKPOINTS": "3",
               "TRAIN_STEP_SLEEP_S": str(sleep_s), "TRAIN_RENDEZVOUS_TIMEOUT_S": "120"}
        pods.append(subprocess.Popen([sys.executable, "-m", "components.training"], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True))
    return pods


def finish(pods: list[subprocess.Popen]) -> tuple[list[int], list[str]]:
    logs = [pod.communicate(timeout=300)[0] for pod in pods]
    for log in logs:
        print(log)
    return [pod.returncode for pod in pods], logs


def wait_for_checkpoint(directory: Path, step: int, pods: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 240
    while not (directory / ck.checkpoint_name(step)).exists():
        assert all(pod.poll() is None for pod in pods), "a pod ended before the checkpoint appeared"
        assert time.monotonic() < deadline, f"no checkpoint {step} in {directory}"
        time.sleep(0.1)


def final_state(directory: Path) -> dict:
    payload = ck.CheckpointDir(directory).read(STEPS)
    assert payload is not None, f"no complete final checkpoint in {directory}"
    return torch.load(io.BytesIO(payload), weights_only=True)


def assert_same_state(a: dict, b: dict) -> None:
    assert a["step"] == b["step"] == STEPS
    for key, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][key]), key
    for index, state in a["optimizer"]["state"].items():
        assert torch.equal(state["momentum_buffer"], b["optimizer"]["state"][index]["momentum_buffer"])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("uninterrupted")
    codes, logs = finish(start_job(directory))
    assert codes == [0, 0]
    assert "resumed" not in logs[0]
    return final_state(directory)


def test_sigterm_on_one_pod_checkpoints_and_resumes_where_it_stopped(tmp_path, uninterrupted):
    """SIGTERM reaches pod 1 only; rank 0 (not signalled) learns it through the per-step stop flag and
    writes the checkpoint; both pods exit 75. The retried pods resume from exactly that step and end
    with the weights and optimizer state of the uninterrupted run."""
    pods = start_job(tmp_path, sleep_s=0.05)
    wait_for_checkpoint(tmp_path, 30, pods)
    pods[1].send_signal(signal.SIGTERM)
    codes, logs = finish(pods)
    assert codes == [75, 75]
    stopped = int(re.search(r"rank 0 stopped at step (\d+)", logs[0]).group(1))
    assert 30 <= stopped < STEPS
    assert ck.CheckpointDir(tmp_path).latest()[0] == stopped

    codes, logs = finish(start_job(tmp_path))
    assert codes == [0, 0]
    assert f"resumed from checkpoint step {stopped}" in logs[0]
    assert_same_state(final_state(tmp_path), uninterrupted)
    assert len(ck.steps_newest_first(os.listdir(tmp_path))) == 3  # TRAIN_KEEP_CHECKPOINTS


def test_sigkill_resumes_from_last_complete_checkpoint_ignoring_a_torn_one(tmp_path, uninterrupted):
    """Both pods die without warning (SIGKILL to each process group: node lost). A torn, newer checkpoint
    and a dead write's temp file are left in the directory; the retry resumes from the newest complete
    checkpoint, not from the torn one, and still ends equal to the uninterrupted run."""
    pods = start_job(tmp_path, sleep_s=0.05)
    wait_for_checkpoint(tmp_path, 40, pods)
    for pod in pods:
        os.killpg(pod.pid, signal.SIGKILL)
    codes, _ = finish(pods)
    assert codes == [-9, -9]
    complete = ck.CheckpointDir(tmp_path).latest()[0]
    assert complete >= 40
    blob = (tmp_path / ck.checkpoint_name(complete)).read_bytes()
    (tmp_path / ck.checkpoint_name(complete + 50)).write_bytes(blob[: len(blob) // 2])
    (tmp_path / f".{ck.checkpoint_name(complete + 60)}.tmp.1").write_bytes(blob[:100])

    codes, logs = finish(start_job(tmp_path))
    assert codes == [0, 0]
    assert f"resumed from checkpoint step {complete}" in logs[0]
    assert_same_state(final_state(tmp_path), uninterrupted)
    assert not [n for n in os.listdir(tmp_path) if ".tmp." in n]


def test_one_pod_with_two_workers_trains_like_two_pods(tmp_path, uninterrupted):
    """TRAIN_PROCS_PER_POD=2 (a 2-GPU pod): the launcher starts ranks 0 and 1 itself; the result is the
    same as two 1-process pods, since a rank's batches depend only on (seed, step, rank)."""
    codes, logs = finish(start_job(tmp_path, pods_count=1))
    assert codes == [0]
    assert "pod 0/1, 2 process(es) per pod, world 2" in logs[0]
    assert_same_state(final_state(tmp_path), uninterrupted)
