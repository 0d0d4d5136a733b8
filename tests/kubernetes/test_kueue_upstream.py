"""Flavor tolerations (D1), compact placement (D2) and DWS node binding (design decisions in
docs/design.md): the dev stack's objects run through Kueue's, Kubernetes' and GKE's own
scheduling rules (restated in tests/kube_semantics.py, each with its upstream source)."""

from __future__ import annotations

from components.model import flavors, job_placement, parse_platform, priority_class_for
from components.capture import Capture
from conftest import PLATFORM_KEY, load_dev_platform_raw, load_stack_config
from kube_semantics import (
    GPU, extended_resource_toleration, kueue_admit, kueue_flavor_fits, nap_node, schedulable, static_pool_node,
)

KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:"
POOL = "gcp:container/nodePool:NodePool"


def _specs(capture: Capture, kind: str) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: {**r.inputs, "spec": r.inputs.get("spec") or {}} for r in capture.of_type(KUEUE + kind)}


def minimal_job_template(queue: str, queue_flavors: list[str], job: str, namespace: str, stack: str = "dev") -> dict:
    """A job as the README and docs/teams.md ask users to write one: queue label, GPU request, the queue's priority (D3),
    and what the model says its flavor needs beyond Kueue (D2, `job_placement`)."""
    model = flavors(parse_platform(load_stack_config(stack)[PLATFORM_KEY]))
    spec: dict = {
        "priorityClassName": priority_class_for(queue),
        "containers": [{"name": "main", "image": "trainer", "resources": {"limits": {GPU: "1"}}}],
    }
    for name in queue_flavors:
        extra = job_placement(model[name], job, namespace)
        spec["nodeSelector"] = {**spec.get("nodeSelector", {}), **extra.get("nodeSelector", {})}
        spec["tolerations"] = spec.get("tolerations", []) + extra.get("tolerations", [])
    return spec


def _gpu_node(capture: Capture, flavor: str, pod: dict) -> dict:
    pools = {r.inputs["name"]: r.inputs for r in capture.of_type(POOL)}
    return static_pool_node(pools[flavor]) if flavor in pools else nap_node(pod)


def _queue_cases(capture: Capture):
    cqs = _specs(capture, "ClusterQueue")
    for lq in capture.of_type(KUEUE + "LocalQueue"):
        meta = lq.inputs["metadata"]
        cq = cqs[lq.inputs["spec"]["clusterQueue"]]["spec"]
        queue_flavors = [f["name"] for g in cq["resourceGroups"] for f in g["flavors"]]
        yield meta["namespace"], meta["name"], queue_flavors


def test_minimal_job_is_admitted_on_every_flavor_of_its_queue_and_tolerates_the_node(stack_capture):
    """D1. Kueue v0.19.2 `pkg/scheduler/flavorassigner/flavorassigner.go` checkFlavorForPodSets
    assigns a flavor only if the job template plus the flavor's `tolerations` tolerate its `nodeTaints`, and
    `pkg/podset/podset.go` FromAssignment injects only the flavor's nodeLabels and tolerations; the node must
    then pass kube-scheduler's taint filter (k8s.io/api ToleratesTaint) for every taint GKE puts on it
    (nvidia.com/gpu=present, gke-queued, spot on NAP nodes, and ours). A minimal job (queue label + GPU
    request) of every team's every queue must get through all of it, on every flavor its queue may pick."""
    capture = stack_capture
    rfs = _specs(capture, "ResourceFlavor")
    cases = list(_queue_cases(capture))
    # dev's two opted-in teams also have the shared queue (on its time-shared L4 pool), team-c its serving queue
    assert {q for _, q, _ in cases} == {"high", "low", "compact", "dws"} | ({"shared", "serving"} if capture.stack == "dev" else set())
    for namespace, queue, queue_flavors in cases:
        template = minimal_job_template(queue, queue_flavors, "train", namespace, capture.stack)
        for flavor in queue_flavors:
            reason = kueue_flavor_fits(template, rfs[flavor]["spec"])
            assert reason is None, f"{namespace}/{queue}: Kueue would not assign flavor {flavor}: {reason}"
            pod = extended_resource_toleration(kueue_admit(template, rfs[flavor]["spec"]))
            node = _gpu_node(capture, flavor, pod)
            node["labels"].update(_dws_request_label(capture, flavor, "req-1"))
            pod["nodeSelector"].update(_dws_pod_set_update(capture, flavor, "req-1"))
            assert schedulable(pod, node) is None, f"{namespace}/{queue} on {flavor}: {schedulable(pod, node)}"


def test_pods_kueue_did_not_admit_stay_off_gpu_nodes(dev_capture):
    """D1: the taints must still repel what Kueue did not admit (GKE "About GPUs": the GPU taint;
    ExtendedResourceToleration lets GPU-requesting pods tolerate only nvidia.com/gpu). Neither a plain pod
    nor a bare GPU pod tolerates any GPU node; nor a node NAP built for an admitted compact job."""
    plain = {"containers": [{"name": "c", "image": "busybox"}]}
    bare_gpu = extended_resource_toleration({"containers": [{"name": "c", "image": "x", "resources": {"limits": {GPU: "1"}}}]})
    nodes = [static_pool_node(r.inputs) for r in dev_capture.of_type(POOL) if r.inputs["nodeConfig"].get("guestAccelerators")]
    rfs = _specs(dev_capture, "ResourceFlavor")
    template = minimal_job_template("compact", ["a100-compact-spot"], "train", "team-a")
    nodes.append(nap_node(extended_resource_toleration(kueue_admit(template, rfs["a100-compact-spot"]["spec"]))))
    assert len(nodes) == 6
    for node in nodes:
        for pod in (plain, bare_gpu):
            # Without a nodeSelector only the taints can keep it off.
            assert schedulable(pod, node) is not None and "untolerated taint" in schedulable(pod, node)


def test_compact_jobs_get_their_own_compact_placement_pool(dev_capture):
    """D2. GKE "Define compact placement for GKE nodes"
    (https://cloud.google.com/kubernetes-engine/docs/how-to/compact-placement): NAP provisions compact
    placement for pods whose nodeSelector has `cloud.google.com/gke-placement-group` (the group) and a
    resource type key such as `cloud.google.com/gke-accelerator: nvidia-tesla-a100`. The flavor may not pin
    a per-job group (its nodeLabels are shared by every job), so the job carries it, and Kueue's
    flavorSelector ignores a key no flavor label has (flavorassigner.go flavorSelector)."""
    rfs = _specs(dev_capture, "ResourceFlavor")
    compact = rfs["a100-compact-spot"]["spec"]
    assert not any("placement" in key for key in compact["nodeLabels"])
    pods = []
    for namespace, job in (("team-a", "train"), ("team-b", "train"), ("team-a", "eval")):
        template = minimal_job_template("compact", ["a100-compact-spot"], job, namespace)
        assert kueue_flavor_fits(template, compact) is None
        pods.append(extended_resource_toleration(kueue_admit(template, compact)))
    groups = [p["nodeSelector"].get("cloud.google.com/gke-placement-group") for p in pods]
    assert all(groups) and len(set(groups)) == 3, groups
    for pod in pods:
        assert pod["nodeSelector"]["cloud.google.com/gke-accelerator"] == "nvidia-tesla-a100"
        assert schedulable(pod, nap_node(pod)) is None
    # The other flavors need nothing beyond what Kueue injects.
    model = flavors(parse_platform(load_dev_platform_raw()))
    assert {n: job_placement(f, "train", "team-a") for n, f in model.items() if n != "a100-compact-spot"} == {
        n: {} for n in model if n != "a100-compact-spot"}


def test_placement_group_is_a_valid_label_value_for_long_names():
    """Kubernetes label values: at most 63 characters, alphanumeric at both ends ("Labels and Selectors")."""
    model = flavors(parse_platform(load_dev_platform_raw()))
    long = job_placement(model["a100-compact-spot"], "j" * 63, "team-" + "x" * 35)["nodeSelector"]
    value = long["cloud.google.com/gke-placement-group"]
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
    other = job_placement(model["a100-compact-spot"], "j" * 62 + "k", "team-" + "x" * 35)["nodeSelector"]
    assert other["cloud.google.com/gke-placement-group"] != value


def _dws_pod_set_update(capture: Capture, flavor: str, request: str) -> dict:
    """Kueue's provisioning admission check copies podSetUpdates.nodeSelector into the admitted pods, the
    value taken from the ProvisioningRequest's provisioningClassDetails (Kueue
    `site/content/en/docs/concepts/admission_check/provisioning_request.md`, "podSetUpdates")."""
    if flavor != "l4-dws":
        return {}
    prc = _specs(capture, "ProvisioningRequestConfig")["dws-config"]["spec"]
    details = {"ResizeRequestName": request}
    return {u["key"]: details[u["valueFromProvisioningClassDetail"]]
            for u in prc.get("podSetUpdates", {}).get("nodeSelector", [])}


def _dws_request_label(capture: Capture, flavor: str, request: str) -> dict:
    # GKE labels queued-provisioning nodes with their resize request (kubernetes-sigs/kueue#9048, maintainer).
    return {"autoscaling.gke.io/provisioning-request": request} if flavor == "l4-dws" else {}


def test_dws_job_cannot_land_on_another_requests_nodes(dev_capture):
    """GKE's queued provisioning labels each node with the resize request it was created for;
    Kueue binds a job's pods to them only through ProvisioningRequestConfig `podSetUpdates` with key
    `autoscaling.gke.io/provisioning-request` from `ResizeRequestName` (Kueue maintainer's GKE config in
    kubernetes-sigs/kueue#9048; `provisioning_request.md` "podSetUpdates"). Without it job B's pods may
    take the nodes provisioned for job A."""
    rfs = _specs(dev_capture, "ResourceFlavor")
    template = minimal_job_template("dws", ["l4-dws"], "train", "team-a")
    pods = {}
    for request in ("req-a", "req-b"):
        pod = extended_resource_toleration(kueue_admit(template, rfs["l4-dws"]["spec"]))
        pod["nodeSelector"].update(_dws_pod_set_update(dev_capture, "l4-dws", request))
        pods[request] = pod
    node_a = _gpu_node(dev_capture, "l4-dws", pods["req-a"])
    node_a["labels"].update(_dws_request_label(dev_capture, "l4-dws", "req-a"))
    assert schedulable(pods["req-a"], node_a) is None
    assert schedulable(pods["req-b"], node_a) is not None


def test_dws_config_is_valid_for_kueue_and_the_pool_uses_flex_start(dev_capture):
    """The ProvisioningRequestConfig passes the vendored Kueue 0.19.2 schema
    (platform/schemas), and the DWS pool sets flex-start with queued provisioning, as GKE requires: "To use
    flex-start with queued provisioning, you have to add the --flex-start and --enable-queued-provisioning
    flags when you create the node pool" (https://cloud.google.com/kubernetes-engine/docs/how-to/provisioningrequest)."""
    from components.kubernetes.manifest_validation import problems
    from components.plan import kubernetes_object

    prc = next(kubernetes_object(r) for r in dev_capture.of_type(KUEUE + "ProvisioningRequestConfig"))
    assert problems(prc) == []
    assert prc["spec"]["podSetUpdates"] == {"nodeSelector": [
        {"key": "autoscaling.gke.io/provisioning-request", "valueFromProvisioningClassDetail": "ResizeRequestName"}]}
    dws_pool = next(r.inputs for r in dev_capture.of_type(POOL) if r.name == "l4-dws-pool")
    assert dws_pool["queuedProvisioning"] == {"enabled": True}
    assert dws_pool["nodeConfig"]["flexStart"] is True
    other = [r.inputs for r in dev_capture.of_type(POOL) if r.name != "l4-dws-pool"]
    assert not any(p["nodeConfig"].get("flexStart") for p in other)
