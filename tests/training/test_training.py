"""The training workload's pure logic (no torch): pod env -> ranks, checkpoints, resume, launcher, contract.

The real 2-process run, interrupted and resumed, is tests/training/test_training_torch.py (`make test-torch`).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

import pytest

from components.training import checkpoints as ck
from components.training import contract, launch
from components.training.settings import Settings, checkpoint_due, settings_from_env
from components.training.topology import EnvError, pod_topology

BASE = {"MASTER_ADDR": "train-0.train"}


# --- topology -----------------------------------------------------------------------------------

def test_plain_job_is_one_process():
    """A non-indexed Job sets none of the variables: one pod, one process, rendezvous on localhost."""
    topo = pod_topology({})
    assert (topo.pod_rank, topo.pods, topo.world_size, topo.master_addr, topo.master_port) == (0, 1, 1, "127.0.0.1", 29500)
    assert topo.worker_env(0) == {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1",
                                  "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


def test_indexed_job_rank_from_completion_index():
    """Kubernetes sets JOB_COMPLETION_INDEX (0..completions-1) in each pod of an Indexed Job
    (kubernetes.io/docs/tasks/job/indexed-parallel-processing-static). With 2 GPUs per pod, pod 3 of 4
    runs global ranks 6 and 7 of 8."""
    topo = pod_topology({**BASE, "JOB_COMPLETION_INDEX": "3", "TRAIN_PODS_PER_JOB": "4", "TRAIN_PROCS_PER_POD": "2"})
    assert (topo.pod_rank, topo.world_size) == (3, 8)
    assert [topo.worker_env(i)["RANK"] for i in range(2)] == ["6", "7"]
    assert topo.worker_env(1)["LOCAL_RANK"] == "1"


def test_jobset_rank_from_job_index_annotation():
    """JobSet v0.12.0 annotates every pod with jobset.sigs.k8s.io/job-index (0..replicas-1) and
    jobset.sigs.k8s.io/replicatedjob-replicas (api/jobset/v1alpha2/jobset_types.go JobIndexKey,
    ReplicatedJobReplicas; set in pkg/controllers/jobset_controller.go labelAndAnnotateObject); each
    child Job is Indexed, so pod (job 1, completion 0) of 3 Jobs x 2 pods is pod 2 of 6."""
    topo = pod_topology({**BASE, "JOB_COMPLETION_INDEX": "0", "TRAIN_PODS_PER_JOB": "2",
                         "TRAIN_JOB_INDEX": "1", "TRAIN_JOBS": "3"})
    assert (topo.pod_rank, topo.pods, topo.world_size) == (2, 6, 6)
    assert topo.worker_env(0)["MASTER_ADDR"] == "train-0.train"


def test_master_hostnames():
    """JobSet v0.12.0 Network doc comment: pods are reachable at
    <jobSet.name>-<spec.replicatedJob.name>-<job-index>-<pod-index>.<subdomain>, subdomain defaulting to
    the JobSet name (pkg/controllers/jobset_controller.go GetSubdomain). An Indexed Job's pod hostname is
    <job>-<index> under the headless Service named by its subdomain
    (kubernetes.io/docs/tasks/job/job-with-pod-to-pod-communication)."""
    assert contract.jobset_master_addr("llm", "workers") == "llm-workers-0-0.llm"
    assert contract.jobset_master_addr("llm", "workers", "net") == "llm-workers-0-0.net"
    assert contract.indexed_job_master_addr("train", "train-svc") == "train-0.train-svc"


def test_bad_env_reports_every_problem_with_its_fix():
    with pytest.raises(EnvError) as err:
        pod_topology({"JOB_COMPLETION_INDEX": "x", "TRAIN_PODS_PER_JOB": "2", "TRAIN_PROCS_PER_POD": "0",
                      "MASTER_PORT": "70000"})
    problems = err.value.problems
    assert len(problems) == 4, problems
    assert any(p.startswith("JOB_COMPLETION_INDEX='x'") and "completionMode: Indexed" in p for p in problems)
    assert any(p.startswith("TRAIN_PROCS_PER_POD=0") and "GPUs per pod" in p for p in problems)
    assert any(p.startswith("MASTER_PORT=70000") for p in problems)
    assert any(p.startswith("MASTER_ADDR is unset for a 2-pod job") for p in problems)


def test_index_beyond_declared_pods_is_an_error():
    with pytest.raises(EnvError, match="JOB_COMPLETION_INDEX=2 is not below TRAIN_PODS_PER_JOB=2"):
        pod_topology({**BASE, "JOB_COMPLETION_INDEX": "2", "TRAIN_PODS_PER_JOB": "2"})
    with pytest.raises(EnvError, match="TRAIN_JOB_INDEX=3 is not below TRAIN_JOBS=2"):
        pod_topology({**BASE, "TRAIN_JOB_INDEX": "3", "TRAIN_JOBS": "2"})


# --- settings -----------------------------------------------------------------------------------

def test_settings_report_every_problem():
    with pytest.raises(EnvError) as err:
        settings_from_env({"TRAIN_STEPS": "0", "TRAIN_BACKEND": "mpi", "TRAIN_STEP_SLEEP_S": "fast"})
    assert len(err.value.problems) == 4
    assert any("CHECKPOINT_DIR is unset" in p and "/data/checkpoints/<job>" in p for p in err.value.problems)


def test_checkpoint_every_n_steps_and_at_the_end():
    settings = Settings(checkpoint_dir="/x", steps=25, checkpoint_every=10)
    assert [s for s in range(1, 26) if checkpoint_due(s, settings)] == [10, 20, 25]


# --- checkpoints --------------------------------------------------------------------------------

def test_integrity_header_rejects_torn_and_foreign_files():
    """A torn checkpoint (cut short, or corrupted) is never mistaken for a complete one."""
    blob = ck.encode(b"payload" * 100)
    assert ck.decode(blob) == b"payload" * 100
    assert ck.decode(blob[:-1]) is None
    assert ck.decode(blob[:10]) is None
    assert ck.decode(blob[:-1] + bytes([blob[-1] ^ 1])) is None
    assert ck.decode(b"PK\x03\x04 a torch zip, not ours") is None


def test_names_parse_and_ignore_temps():
    assert ck.checkpoint_name(43) == "step-000000043.ckpt"
    assert ck.parse_step("step-000000043.ckpt") == 43
    assert ck.parse_step(".step-000000043.ckpt.tmp.12") is None
    assert ck.steps_newest_first(["step-000000002.ckpt", "notes.txt", "step-000000010.ckpt"]) == [10, 2]


def test_resume_picks_newest_checkpoint_that_verifies():
    valid = {5: b"five", 20: b"twenty"}
    names = ["step-000000005.ckpt", "step-000000020.ckpt", "step-000000030.ckpt", ".step-000000040.ckpt.tmp.9"]
    assert ck.select_resume(names, valid.get) == (20, b"twenty")  # 30 is torn, 40 never finished
    assert ck.select_resume([".step-000000040.ckpt.tmp.9"], valid.get) is None


def test_resume_step():
    assert ck.resume_step(None, 100) == 0
    assert ck.resume_step(43, 100) == 43
    assert ck.resume_step(100, 100) == 100  # already done: the retried pod exits 0 at once
    assert ck.resume_step(150, 100) == 100


def test_rotation_keeps_last_n_and_drops_the_future_and_temps():
    names = [ck.checkpoint_name(s) for s in (10, 20, 30, 40, 90)] + [".step-000000050.ckpt.tmp.7", "README"]
    doomed = ck.plan_rotation(names, keep=2, current_step=40)
    assert doomed == sorted([ck.checkpoint_name(10), ck.checkpoint_name(20), ck.checkpoint_name(90),
                             ".step-000000050.ckpt.tmp.7"])
    with pytest.raises(ValueError):
        ck.plan_rotation(names, keep=0, current_step=40)


def test_directory_write_is_atomic_and_resume_skips_a_torn_newer_file(tmp_path):
    """Write goes temp -> fsync -> rename (no temp left, final verifies); a torn newer file (as a
    non-atomic rename on an object-store mount could leave, gcsfuse docs/semantics.md) and a dead
    write's temp are ignored on resume and removed by the next rotation."""
    store = ck.CheckpointDir(tmp_path / "job")
    assert store.latest() is None
    store.write(10, b"ten")
    store.write(20, b"twenty")
    assert sorted(os.listdir(store.path)) == ["step-000000010.ckpt", "step-000000020.ckpt"]
    torn = ck.encode(b"thirty")[:-2]
    (store.path / "step-000000030.ckpt").write_bytes(torn)
    (store.path / ".step-000000040.ckpt.tmp.99").write_bytes(b"half")
    assert store.latest() == (20, b"twenty")
    store.write(25, b"twenty-five")
    store.rotate(keep=2, current_step=25)
    assert sorted(os.listdir(store.path)) == ["step-000000020.ckpt", "step-000000025.ckpt"]


# --- launcher -----------------------------------------------------------------------------------

def test_pod_exit_code():
    """75 (EX_TEMPFAIL, sysexits.h) means stopped on request after a checkpoint: retry. A real failure
    wins over siblings stopped because of it; a signal death reads 128+N as in a shell."""
    assert launch.pod_exit_code([0, 0]) == 0
    assert launch.pod_exit_code([75, 75]) == 75
    assert launch.pod_exit_code([0, 75]) == 75
    assert launch.pod_exit_code([75, 1]) == 1
    assert launch.pod_exit_code([-9, 75]) == 137


def test_launcher_starts_one_worker_per_gpu_with_env_rendezvous(tmp_path):
    """Each worker gets the env:// variables torch.distributed reads (RANK, LOCAL_RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT); the pod exits with the aggregated code."""
    out = tmp_path / "env"
    script = ("import os,sys; r=os.environ['LOCAL_RANK']; "
              f"open(r'{out}'+r,'w').write(' '.join(os.environ[k] for k in "
              "('RANK','LOCAL_RANK','WORLD_SIZE','MASTER_ADDR','MASTER_PORT'))); sys.exit(75 if r=='1' else 0)")
    topo = pod_topology({**BASE, "JOB_COMPLETION_INDEX": "1", "TRAIN_PODS_PER_JOB": "2", "TRAIN_PROCS_PER_POD": "2"})
    code = launch.run_workers(topo, {"PATH": os.environ.get("PATH", "")}, [sys.executable, "-c", script],
                              install_signals=False)
    assert code == 75
    assert (tmp_path / "env0").read_text() == "2 0 4 train-0.train 29500"
    assert (tmp_path / "env1").read_text() == "3 1 4 train-0.train 29500"


def test_launcher_rejects_bad_env_before_starting_anything(capsys):
    started = []
    code = launch.main({"JOB_COMPLETION_INDEX": "5", "TRAIN_PODS_PER_JOB": "2"}, lambda: started.append(1) or [])
    assert code == launch.EXIT_BAD_CONFIG and not started
    err = capsys.readouterr().err
    assert "JOB_COMPLETION_INDEX=5 is not below TRAIN_PODS_PER_JOB=2" in err
    assert "CHECKPOINT_DIR is unset" in err


# --- contract -----------------------------------------------------------------------------------

def test_container_contract_for_a_jobset():
    """The JobSet pod's env takes the job index and replica count from the annotations JobSet v0.12.0
    sets (jobset_types.go JobIndexKey / ReplicatedJobReplicas) through the downward API."""
    c = contract.training_container("llm", master_addr=contract.jobset_master_addr("llm", "workers"),
                                    pods_per_job=2, procs_per_pod=2, in_jobset=True)
    env = {e["name"]: e for e in c["env"]}
    assert env["TRAIN_JOB_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['jobset.sigs.k8s.io/job-index']"
    assert env["TRAIN_JOBS"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['jobset.sigs.k8s.io/replicatedjob-replicas']"
    assert env["CHECKPOINT_DIR"]["value"] == "/data/checkpoints/llm"
    assert env["MASTER_ADDR"]["value"] == "llm-workers-0-0.llm"
    assert c["command"] == ["python", "-m", "batch_training"] and c["image"] == contract.IMAGE
    assert c["ports"] == [{"name": "rendezvous", "containerPort": 29500, "protocol": "TCP"}]
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/opt/training/batch_training", "/data"}
    plain = {e["name"] for e in contract.training_container("j", master_addr="127.0.0.1")["env"]}
    assert "TRAIN_JOB_INDEX" not in plain


def test_checkpoint_volume_is_a_gcsfuse_csi_ephemeral_volume():
    """GKE "Mount Cloud Storage buckets as CSI ephemeral volumes": driver gcsfuse.csi.storage.gke.io,
    volumeAttributes.bucketName, and the pod annotation gke-gcsfuse/volumes: "true" for the sidecar."""
    volume = contract.checkpoint_volume("proj-batch-team-a")
    assert volume["csi"] == {"driver": "gcsfuse.csi.storage.gke.io",
                             "volumeAttributes": {"bucketName": "proj-batch-team-a"}}
    assert contract.POD_ANNOTATIONS == {"gke-gcsfuse/volumes": "true"}


def test_shipped_code_is_self_contained():
    """The ConfigMap ships the package flat under another name, so its modules may import only the
    standard library, torch, and each other relatively."""
    files = contract.source_files()
    assert {"__init__.py", "__main__.py", "launch.py", "train.py", "checkpoints.py"} <= set(files)
    for name, text in files.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
            elif isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root == "torch", f"{name} imports {root}"


def test_launcher_runs_from_the_configmap_layout(tmp_path):
    """`python -m batch_training` with PYTHONPATH=/opt/training, as the contract renders it, starts the
    launcher (here: rejects an empty CHECKPOINT_DIR with exit 2, before torch is needed)."""
    package = tmp_path / contract.PACKAGE
    package.mkdir()
    for name, text in contract.source_files().items():
        (package / name).write_text(text)
    run = subprocess.run([sys.executable, "-m", contract.PACKAGE], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": os.environ.get("PATH", "")}, timeout=60)
    assert run.returncode == contract.EXIT_BAD_CONFIG, run.stderr
    assert "CHECKPOINT_DIR is unset" in run.stderr


def test_contract_objects_pass_the_kubernetes_schemas():
    """The container, volumes and code ConfigMap, put in an Indexed Job as a renderer would, are valid
    Kubernetes 1.35 objects (the suite's validator: kubernetes-validate, strict). ConfigMap keys must be
    alphanumerics, '-', '_' or '.' and the data stay under 1 MiB (kubernetes.io "ConfigMaps")."""
    from components.kubernetes import manifest_validation

    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train", "namespace": "team-a"},
           "spec": {"completionMode": "Indexed", "completions": 2, "parallelism": 2, "template": {
               "metadata": {"annotations": dict(contract.POD_ANNOTATIONS)},
               "spec": {"restartPolicy": "Never", "subdomain": "train",
                        "terminationGracePeriodSeconds": contract.TERMINATION_GRACE_SECONDS,
                        "containers": [contract.training_container(
                            "train", master_addr=contract.indexed_job_master_addr("train", "train"), pods_per_job=2)],
                        "volumes": [contract.code_volume("train-code"), contract.checkpoint_volume("bucket")]}}}}
    configmap = contract.code_configmap("train-code", "team-a")
    assert manifest_validation.problems(job) == []
    assert manifest_validation.problems(configmap) == []
    assert all(re.fullmatch(r"[-._a-zA-Z0-9]+", key) for key in configmap["data"])
    assert sum(len(v.encode()) for v in configmap["data"].values()) < 1024 * 1024
