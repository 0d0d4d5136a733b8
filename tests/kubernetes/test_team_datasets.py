"""The team dataset read path: a Filestore Zonal share per opted-in team, read-only in its jobs.

Upstream behaviour encoded here:
- GKE "Access pre-existing Filestore instances with the Filestore CSI driver": a PersistentVolume with
  `storageClassName: ""`, `csi.driver: filestore.csi.storage.gke.io`, `csi.volumeHandle:
  modeInstance/<zone>/<instance>/<share>`, `csi.volumeAttributes: {ip, volume}`, and a claim with
  `storageClassName: ""` and `volumeName`; the add-on `addonsConfig.gcpFilestoreCsiDriverConfig` mounts it;
  Before you begin: "Enable the Cloud Filestore API" (file.googleapis.com);
- Filestore "Zonal tier" (cloud.google.com/filestore/docs/service-tiers-zonal): capacity 1 TiB to
  9.75 TiB in 256 GiB units or 10 TiB to 100 TiB in 2.5 TiB units; read throughput 260 MiB/s per
  provisioned TiB (650 MiB/s per 2.5 TiB in the higher range);
- Filestore "Pricing": billed for provisioned capacity, not used capacity;
- Kubernetes "Persistent Volumes": a dynamically provisioned volume of a `Retain` class outlives its
  claim (and so the stack), which is why the stack owns the instance instead;
- Pulumi "protect" / "retainOnDelete" resource options (the instance is guarded like the buckets).
"""

from __future__ import annotations

import dataclasses

from components.cost.envelope import stack_envelope
from components.explain import ADMITTED, PENDING, explain, from_capture, from_object
from components.kubernetes import render as k8s_render
from components.kubernetes.datasets import stand_in_shares
from components.model import parse_platform
from components.model.datasets import read_mibps
from components.model.names import network_name
from components.review import compare
from components.workloads import kinds_for, render
from conftest import add_fifth_team, assert_issue, config_error, load_dev_platform_raw, load_stack_config

DEV = parse_platform(load_dev_platform_raw())
FILESTORE = "filestore.csi.storage.gke.io"
FILESTORE_INSTANCE = "gcp:filestore/instance:Instance"


def _objects(capture, kind):
    return from_capture(capture).of_kind(kind)


def test_dev_team_b_gets_a_zonal_instance_owned_by_the_stack(dev_capture):
    """team-b's Filestore Zonal instance is a resource of the stack, in the platform's VPC (never the
    "default" network), in the platform's first zone, at the configured size; the API is enabled first."""
    (instance,) = dev_capture.of_type(FILESTORE_INSTANCE)
    assert instance.inputs["tier"] == "ZONAL" and instance.inputs["location"] == DEV.zones[0]
    assert instance.inputs["fileShares"] == {"name": "datasets", "capacityGb": 1024}
    assert instance.inputs["networks"] == [{"network": network_name(DEV), "modes": ["MODE_IPV4"],
                                            "connectMode": "DIRECT_PEERING"}]
    apis = {r.urn: r.inputs["service"] for r in dev_capture.of_type("gcp:projects/service:Service")}
    assert "file.googleapis.com" in {apis[d] for d in instance.dependencies if d in apis}
    cluster = dev_capture.of_type("gcp:container/cluster:Cluster")[0]
    assert cluster.inputs["addonsConfig"]["gcpFilestoreCsiDriverConfig"] == {"enabled": True}


def test_the_claim_binds_statically_to_a_volume_of_that_instance(dev_capture):
    """No StorageClass (nothing the CSI driver provisions outside the stack): a PersistentVolume naming the
    instance's share by volume handle and IP, reserved for team-b's claim, and the claim naming it."""
    assert not _objects(dev_capture, "StorageClass")
    (pv,) = _objects(dev_capture, "PersistentVolume")
    (pvc,) = _objects(dev_capture, "PersistentVolumeClaim")
    (instance,) = dev_capture.of_type(FILESTORE_INSTANCE)
    assert pv["spec"]["csi"] == {
        "driver": FILESTORE, "volumeHandle": f"modeInstance/{DEV.zones[0]}/{instance.inputs['name']}/datasets",
        "volumeAttributes": {"ip": instance.outputs["networks"][0]["ipAddresses"][0], "volume": "datasets"}}
    assert pv["spec"]["storageClassName"] == "" and pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["claimRef"] == {"name": "datasets", "namespace": "team-b"}
    assert pvc["metadata"]["namespace"] == "team-b"
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": pv["metadata"]["name"],
                           "resources": {"requests": {"storage": "1024Gi"}}}
    claim = next(r for r in dev_capture.resources if r.type == "kubernetes:core/v1:PersistentVolumeClaim")
    volume = next(r for r in dev_capture.resources if r.type == "kubernetes:core/v1:PersistentVolume")
    assert volume.urn in claim.dependencies and instance.urn in volume.dependencies


def test_destroy_and_removal_delete_the_share_unless_protected(dev_capture, capture_with):
    """dev (protect off): the instance is an ordinary resource, so `pulumi destroy` and removing `datasets`
    delete it and `diff` is right to drop its cost. prod-like protection: protect + GCP deletion protection."""
    (instance,) = dev_capture.of_type(FILESTORE_INSTANCE)
    assert not instance.options["protect"] and not instance.options["retainOnDelete"]
    assert instance.inputs["deletionProtectionEnabled"] is False
    removed = compare(dev_capture.to_json(), capture_with(lambda p: p["teams"][1].pop("datasets")).to_json())
    assert {c.type for c in removed.of("delete")} == {FILESTORE_INSTANCE, "kubernetes:core/v1:PersistentVolume",
                                                     "kubernetes:core/v1:PersistentVolumeClaim",
                                                     "gpu-batch:gcp:TeamDatasetShare"}
    (guarded,) = capture_with(lambda p: p["dataProtection"].update(protect=True)).of_type(FILESTORE_INSTANCE)
    assert guarded.options["protect"] and guarded.inputs["deletionProtectionEnabled"] is True


def test_a_share_zone_outside_the_platform_is_refused():
    raw = load_dev_platform_raw()
    raw["teams"][1]["datasets"]["zone"] = "europe-west4-a"
    assert_issue(config_error(raw), "teams[1].datasets.zone", "not one of the platform's zones", fix=raw["zones"][0])


def test_team_b_jobs_mount_the_share_read_only_and_others_do_not():
    for kind in kinds_for(DEV, DEV.teams[1]):
        spec = _pod_spec(render(DEV, "team-b", kind))
        (vol,) = [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
        assert vol["persistentVolumeClaim"] == {"claimName": "datasets", "readOnly": True}
        mounts = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == vol["name"]]
        assert mounts == [{"name": vol["name"], "mountPath": "/datasets", "readOnly": True}]
    for kind in kinds_for(DEV, DEV.teams[0]):
        assert not [v for v in _pod_spec(render(DEV, "team-a", kind))["volumes"] if "persistentVolumeClaim" in v]


def _pod_spec(objs):
    top = objs[-1]
    if top["kind"] == "Job":
        return top["spec"]["template"]["spec"]
    return top["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]


def test_explain_refuses_the_share_when_the_filestore_add_on_is_off(dev_capture):
    """A claim needs its class's CSI driver on the nodes; with the add-on off the pod never starts."""
    cluster = from_capture(dev_capture)
    job = render(DEV, "team-b", "high")[-1]
    assert explain(cluster, from_object(job)).status == ADMITTED
    off = dataclasses.replace(cluster, csi_drivers=cluster.csi_drivers - {FILESTORE})
    verdict = explain(off, from_object(job))
    assert verdict.status == PENDING
    assert any(f"CSI driver {FILESTORE} is not enabled" in r for r in verdict.reasons)


def test_a_fifth_team_gets_its_claim_from_one_entry():
    """One `datasets` entry on a new team: its claim at its size and its cost line."""
    raw = load_dev_platform_raw()
    add_fifth_team(raw, datasets={"sizeGi": 2560})
    platform = parse_platform(raw)
    objs = k8s_render.manifests(platform, {t.name: "gsa@x" for t in platform.teams}, stand_in_shares(platform))
    claims = [o for o in objs.teams["team-e"].tenancy if o["kind"] == "PersistentVolumeClaim"]
    assert [c["spec"]["resources"]["requests"]["storage"] for c in claims] == ["2560Gi"]
    lines = {line.item: line for line in stack_envelope(platform).idle.lines}
    assert lines["team-e datasets"].monthly == 2.5 * lines["team-b datasets"].monthly > 0  # billed per provisioned GiB
    assert read_mibps(2560) == 650  # the Zonal doc: 260 MiB/s per TiB


def test_bad_dataset_sizes_and_tiers_name_the_path_and_the_fix():
    raw = load_dev_platform_raw()
    raw["teams"][0]["datasets"] = {"sizeGi": 1000}
    raw["teams"][2]["datasets"] = {"sizeGi": 10000, "tier": "basic-hdd"}
    raw["teams"][3]["datasets"] = {"sizeGi": 200000}
    err = config_error(raw)
    assert_issue(err, "teams[0].datasets.sizeGi", "1024..9984 GiB in steps of 256", fix="use 1024")
    assert_issue(err, "teams[2].datasets.sizeGi", "got 10000", fix="use 9984")
    assert_issue(err, "teams[2].datasets.tier", "not one of zonal")
    assert_issue(err, "teams[3].datasets.sizeGi", "got 200000", fix="use 102400")


def test_a_region_without_a_price_is_unpriced_never_free():
    raw = load_stack_config("prod")
    raw = raw.get("gpu-batch-platform:platform", raw)
    raw["teams"][0]["datasets"] = {"sizeGi": 1024}
    line = next(l for l in stack_envelope(parse_platform(raw)).idle.lines if l.item.endswith("datasets"))
    assert line.monthly is None and "filestore-zonal" in line.unpriced
