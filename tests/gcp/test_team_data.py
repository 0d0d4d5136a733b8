"""Team data next to the compute: one bucket per team in the cluster's region, reachable by that team only,
mounted by its workloads through the Cloud Storage FUSE CSI driver.

Upstream behaviour encoded here:
- Cloud Storage "Bucket locations": a location is a region (us-central1), a dual-region or a multi-region
  (US, EU, ASIA); only a region keeps the data next to the cluster's nodes;
- Cloud Storage IAM: a bucket-level binding grants its role on that bucket's objects only, a project-level
  `roles/storage.*` binding on every bucket of the project ("IAM roles for Cloud Storage");
- Cloud Storage "Object Lifecycle Management": `Delete` with `age` and `matchesPrefix`;
- GKE "Mount Cloud Storage buckets as CSI ephemeral volumes" and "Configure the Cloud Storage FUSE CSI driver
  sidecar container": the `gke-gcsfuse/volumes: "true"` annotation, `volumeAttributes.bucketName`,
  `fileCacheCapacity`, a custom `gke-gcsfuse-cache` volume (needs a non-zero fsGroup), and the
  `gke-gcsfuse/{cpu,memory,ephemeral-storage}-request` annotations (limits unset with "0");
- Kubernetes "Volumes" (emptyDir): files written to a memory-backed emptyDir count against the writing
  container's memory, here the sidecar's.
"""

from __future__ import annotations


from components.explain import ADMITTED, explain, from_capture, from_object
from components.explain.placement import gcsfuse_sidecar
from components.explain.quantity import parse
from components.model import gpu_node_allocatable, parse_platform
from components.model.flavors import flavors
from components.workloads import kinds_for, render
from conftest import add_fifth_team, load_dev_platform_raw, run_with

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
DEV = parse_platform(load_dev_platform_raw())


def _gsa(capture, team: str) -> str:
    account = next(r for r in capture.of_type(ACCOUNT) if r.inputs["accountId"] == f"{DEV.name_prefix}-{team}")
    return f"serviceAccount:{account.inputs['accountId']}@{DEV.project}.iam.gserviceaccount.com"


def _buckets(capture) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in capture.of_type(BUCKET)}


def test_each_team_bucket_sits_in_the_cluster_region_locked_down(dev_capture):
    """One bucket per team, in the cluster's region (never a multi-region), uniform bucket-level access,
    public access prevention enforced, and a lifecycle rule that empties the scratch prefix."""
    buckets = _buckets(dev_capture)
    assert len(buckets) == len(DEV.teams) == 4
    cluster = dev_capture.of_type("gcp:container/cluster:Cluster")[0].inputs
    for name, bucket in buckets.items():
        assert bucket["location"] == cluster["location"] == "us-central1", name
        assert bucket["uniformBucketLevelAccess"] is True and bucket["publicAccessPrevention"] == "enforced"
        scratch = [r for r in bucket["lifecycleRules"] if r["condition"].get("matchesPrefixes")]
        assert scratch == [{"action": {"type": "Delete"},
                            "condition": {"age": 7, "matchesPrefixes": ["scratch/"], "withState": "ANY"}}]


def test_a_multi_region_cannot_be_configured():
    """Cloud Storage multi-regions (US, EU, ASIA) and dual-regions (NAM4) are not regions; the bucket takes
    the platform's region, which must be one."""
    for location in ("US", "us", "nam4", "eu"):
        raw = load_dev_platform_raw()
        raw["region"] = location
        try:
            parse_platform(raw)
        except Exception as err:  # ConfigError with the path
            assert "region" in str(err)
        else:
            raise AssertionError(f"{location} accepted as region")


def test_each_team_gsa_reaches_its_own_bucket_and_no_other(dev_capture):
    """Bucket-level bindings only: each team's GSA holds objectUser on exactly its bucket, and every binding
    on a team bucket names that team's GSA."""
    buckets = {t.name: f"{DEV.project}-{DEV.name_prefix}-{t.name}" for t in DEV.teams}
    grants = [(r.inputs["bucket"], r.inputs["member"], r.inputs["role"]) for r in dev_capture.of_type(BUCKET_MEMBER)]
    for team, bucket in buckets.items():
        gsa = _gsa(dev_capture, team)
        assert [(b, role) for b, m, role in grants if m == gsa] == [(bucket, "roles/storage.objectUser")]
        assert {m for b, m, _ in grants if b == bucket} == {gsa}


def test_no_project_level_storage_role(dev_capture):
    """A project-level roles/storage.* binding would open every team's bucket to its holder."""
    roles = {(r.inputs["role"], r.inputs["member"]) for r in dev_capture.of_type(PROJECT_MEMBER)}
    assert roles, "the capture has project bindings (logging, monitoring)"
    assert not [x for x in roles if x[0].startswith("roles/storage.")]


def test_fifth_team_gets_bucket_binding_and_mount_from_its_one_entry():
    """Adding one team entry (nothing else) gives it a bucket, the bucket binding for its GSA, the Workload
    Identity binding for its KSA, and workloads that mount its bucket and are admitted."""
    add_team = add_fifth_team

    capture = run_with(add_team)
    bucket = f"{DEV.project}-{DEV.name_prefix}-team-e"
    assert bucket in _buckets(capture)
    gsa = _gsa(capture, "team-e")
    assert [(r.inputs["bucket"], r.inputs["role"]) for r in capture.of_type(BUCKET_MEMBER) if r.inputs["member"] == gsa] == [
        (bucket, "roles/storage.objectUser")]
    wi = [r for r in capture.of_type("gcp:serviceaccount/iAMMember:IAMMember") if "[team-e/team-e-ksa]" in r.inputs["member"]]
    assert len(wi) == 1
    raw = load_dev_platform_raw()
    add_team(raw)
    platform = parse_platform(raw)
    team = platform.teams[-1]
    for kind in kinds_for(platform, team):
        obj = next(o for o in render(platform, "team-e", kind) if o["kind"] in ("Job", "JobSet"))
        template = obj["spec"]["template"] if obj["kind"] == "Job" else obj["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]
        assert template["spec"]["serviceAccountName"] == "team-e-ksa"
        assert [v["csi"]["volumeAttributes"]["bucketName"] for v in template["spec"]["volumes"] if "csi" in v] == [bucket]


def test_fuse_sidecar_and_file_cache_fit_the_node_share_that_kueue_counts(dev_capture):
    """The sidecar is injected into the pod after Kueue counted the job's template (Kueue v0.19.2
    pkg/workload/resources.go works on the template), so the trainer leaves room for it: trainer + sidecar
    (its requests from the annotations, the RAM cache inside its memory) equals the node share the
    queue's cpu/memory quota holds per GPU unit; the cache is sized from that share and declared the way
    GKE's webhook reads it."""
    cluster = from_capture(dev_capture)
    for team, kind in (("team-a", "high"), ("team-a", "shared")):
        obj = next(o for o in render(DEV, team, kind) if o["kind"] == "Job")
        template = obj["spec"]["template"]
        spec, annotations = template["spec"], template["metadata"]["annotations"]
        (trainer,) = spec["containers"]
        (sidecar,) = gcsfuse_sidecar(annotations)
        cache = next(v for v in spec["volumes"] if v["name"] == "gke-gcsfuse-cache")
        fuse = next(v for v in spec["volumes"] if "csi" in v)["csi"]["volumeAttributes"]
        assert cache["emptyDir"]["medium"] == "Memory"
        assert fuse["fileCacheCapacity"] == cache["emptyDir"]["sizeLimit"]
        assert spec["securityContext"]["fsGroup"] > 0
        assert annotations["gke-gcsfuse/volumes"] == "true" and annotations["gke-gcsfuse/ephemeral-storage-request"].endswith("Gi")
        cache_bytes = parse("memory", cache["emptyDir"]["sizeLimit"])
        assert parse("memory", sidecar["resources"]["requests"]["memory"]) == 256 * 2**20 + cache_bytes
        flavor = flavors(DEV)[{"high": "l4-reserved", "shared": "l4-shared"}[kind]]
        units = int(trainer["resources"]["limits"]["nvidia.com/gpu"])
        node = gpu_node_allocatable(flavor.machine)
        for resource, node_total in (("cpu", node.cpu_millis), ("memory", node.memory_mib * 2**20)):
            pod = parse(resource, trainer["resources"]["requests"][resource]) + parse(resource, sidecar["resources"]["requests"][resource])
            per_unit = node_total // flavor.gpu_units_per_node if resource == "cpu" else (node.memory_mib // flavor.gpu_units_per_node) * 2**20
            assert pod == per_unit * units, (kind, resource)
        assert explain(cluster, from_object(obj)).status == ADMITTED
