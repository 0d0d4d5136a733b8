"""What a fleet changes in the GCP layer: a worker's team data lives in the manager's buckets (it creates none),
and the manager's Cloud NAT has enough reserved addresses for its nodes."""

from __future__ import annotations

import pytest

from components.model import fleet, parse_platform
from components.model.names import team_bucket_name
from components.workloads.render import render as render_workload
from conftest import FLEET_STACKS, PLATFORM_KEY, STACKS, capture_of, load_stack_config

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"


def _raw(stack: str) -> dict:
    return load_stack_config(stack)[PLATFORM_KEY]


@pytest.fixture(scope="module")
def captures():
    return {stack: capture_of(load_stack_config(stack), stack) for stack in FLEET_STACKS}


def _bucket_of(objs: list[dict]) -> str:
    (job,) = [o for o in objs if o["kind"] in ("Job", "JobSet")]
    spec = job["spec"]["template"]["spec"] if job["kind"] == "Job" else \
        job["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    (name,) = [v["csi"]["volumeAttributes"]["bucketName"] for v in spec["volumes"] if "csi" in v]
    return name


# ------------------------------------------------------------------ a worker has no buckets of its own


def test_a_worker_creates_no_team_buckets_and_its_teams_use_the_managers(captures):
    """MultiKueue copies the Job to the worker as submitted (Kueue v0.19.2 concepts/multikueue.md "Job Flow" 2: "The
    manager creates a copy of the Job in the selected worker cluster"), so a dispatched job mounts the manager's
    team bucket. Nothing else on a worker mounts a team bucket: its teams are derived with queues, cohort, DWS and
    members only (no datasets, serving or pipelines). So the worker creates no bucket; each team identity's one
    bucket grant is the manager's bucket, and the stack's teamBuckets output names those."""
    manager = parse_platform(_raw("fleet-manager"), "Pulumi.fleet-manager.yaml")
    worker_capture = captures["fleet-worker-eu"]
    assert worker_capture.of_type(BUCKET) == []
    grants = sorted((r.inputs["bucket"], r.inputs["member"]) for r in worker_capture.of_type(BUCKET_IAM))
    assert grants == sorted((team_bucket_name(manager, t), f"serviceAccount:fleet-eu-{t.name}@my-gpu-batch-dev.iam.gserviceaccount.com")
                            for t in manager.teams)
    assert worker_capture.stack_outputs["teamBuckets"] == {t.name: team_bucket_name(manager, t) for t in manager.teams}
    # The derived teams carry nothing else that would mount a bucket or a share.
    worker = parse_platform(_raw("fleet-worker-eu"), "Pulumi.fleet-worker-eu.yaml")
    assert all(t.datasets is None and t.serving is None and not t.pipelines for t in worker.teams)
    # The manager keeps its buckets, one per team.
    assert len(captures["fleet-manager"].of_type(BUCKET)) == len(manager.teams)


@pytest.mark.parametrize("stack", STACKS)
def test_a_single_cluster_stack_keeps_its_own_buckets(stack):
    platform = parse_platform(_raw(stack), f"Pulumi.{stack}.yaml")
    capture = capture_of(load_stack_config(stack), stack)
    assert sorted(r.inputs["name"] for r in capture.of_type(BUCKET)) == sorted(team_bucket_name(platform, t) for t in platform.teams)
    assert all(fleet.team_bucket(platform, t) == team_bucket_name(platform, t) for t in platform.teams)


def test_workloads_for_a_worker_name_the_bucket_a_dispatched_copy_names():
    """A job rendered for the worker (submitted there directly) mounts the same bucket as the manager's job that
    MultiKueue copies there: the only team bucket the worker's identity can use."""
    manager = parse_platform(_raw("fleet-manager"), "Pulumi.fleet-manager.yaml")
    worker = parse_platform(_raw("fleet-worker-eu"), "Pulumi.fleet-worker-eu.yaml")
    for team in ("team-a", "team-b"):
        assert _bucket_of(render_workload(worker, team, "low")) == _bucket_of(render_workload(manager, team, "low")) \
            == f"my-gpu-batch-dev-fleet-mgr-{team}"


def test_bucket_name_rules_do_not_apply_to_a_worker():
    """Cloud Storage forbids "goog" at the start of a bucket name ("Bucket naming guidelines"), which is why a
    namePrefix with it is refused; a worker names no bucket, so the rule is not its own."""
    def goog(raw: dict) -> dict:
        raw["namePrefix"] = "goog-eu"
        return raw
    assert parse_platform(goog(_raw("fleet-worker-eu")), "Pulumi.fleet-worker-eu.yaml").name_prefix == "goog-eu"
    from components.model import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_platform(goog(_raw("fleet-manager")), "Pulumi.fleet-manager.yaml")
    assert any(i.path == "namePrefix" and "bucket name" in i.message for i in info.value.issues)


def test_stacks_planned_in_one_process_do_not_share_a_root():
    """`explain` of a manager plans each worker in the same process. Pulumi's set_mocks makes a root Stack only when
    none is set (pulumi/runtime/mocks.py set_mocks: "if get_root_resource() is None"), so the mock engine clears
    it per run: else the worker's resources hang under the manager's Stack and its outputs include the manager's."""
    from components.capture import run_stack

    run_stack("fleet-manager")
    worker = run_stack("fleet-worker-eu")
    roots = {r.parent for r in worker.resources if r.parent and r.parent.endswith("::pulumi:pulumi:Stack::gpu-batch-platform-fleet-worker-eu")}
    assert roots and not [r for r in worker.resources if "fleet-manager::" in (r.parent or "")]
    assert "natAddresses" not in worker.stack_outputs  # the manager's export
