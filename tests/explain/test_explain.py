"""`explain` verdicts on the dev stack's rendered objects: admitted (where, how), pending (why, fix), rejected.

The rules each case relies on are Kueue v0.19.2's, cited in components/explain (flavorassigner.go,
resource_node.go, preemption/classical, workload/resources.go, jobframework), plus Kubernetes
LimitRange and ValidatingAdmissionPolicy semantics and GKE's node labels/taints. The users' YAML here
is written the way a team would write it (kubectl-ready), not produced by the renderer.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from components.cli import main as cli
from components.capture import autoname
from components.explain import ADMITTED, PENDING, REJECTED, explain, from_capture, from_object, parse_used

QUEUE = "kueue.x-k8s.io/queue-name"
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def gke_pool(flavor: str) -> str:
    """The pool as the stack names it (its Pulumi resource `<flavor>-pool`): the mock run's random name
    suffix is never shown as if it were GKE's."""
    assert autoname("gcp:container/nodePool:NodePool", f"{flavor}-pool") != f"{flavor}-pool"
    return f"{flavor}-pool"


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def job(queue: str | None = "high", namespace: str = "team-a", gpus: int = 2, pods: int = 1, priority: str | None = "high",
        **pod) -> dict:
    """A user's minimal Job: queue label, priority, GPU limit (Kueue uses limits as missing requests), and
    the security context Pod Security `restricted` requires in a team namespace."""
    spec = {"restartPolicy": "Never", "securityContext": copy.deepcopy(RESTRICTED_POD),
            "containers": [{"name": "main", "image": "python:3.12", "securityContext": copy.deepcopy(RESTRICTED_CONTAINER),
                            "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}],
            **pod}
    if priority:
        spec["priorityClassName"] = priority
    labels = {QUEUE: queue} if queue else {}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "mine", "namespace": namespace, "labels": labels},
            "spec": {"parallelism": pods, "completions": pods, "template": {"spec": spec}}}


def run(cluster, obj, *used):
    return explain(cluster, from_object(obj), parse_used(list(used), cluster))


def used(spec: str) -> str:
    """"team-a-low=l4-reserved:4" -> a running job of whole g2-standard-24 nodes (2 GPUs, 20 cpu, 80Gi per pod)."""
    cq, rest = spec.split("=")
    flavor, gpus = rest.split(":")
    return f"cq={cq},flavor={flavor},pods={int(gpus) // 2},gpu=2,cpu=20,memory=80Gi"


def test_fits_nominal(cluster):
    v = run(cluster, job())
    assert v.status == ADMITTED and v.flavor == "l4-reserved" and v.borrowing_from == []
    assert v.pools == {"main": gke_pool("l4-reserved")}
    assert "within nominal quota" in v.summary


def test_needs_borrowing(cluster):
    """low owns no reserved quota (nominal 0, borrowingLimit 2) and takes the high queues' idle GPUs;
    whenCanBorrow defaults to MayStopSearch, so it stops at reserved (flavorassigner shouldTryNextFlavor)."""
    v = run(cluster, job(queue="low", priority="low"))
    assert v.status == ADMITTED and v.flavor == "l4-reserved"
    assert v.borrowing_from == ["team-a-high", "team-b-high"]


def test_exceeds_borrowing(cluster):
    """10 GPUs exceed every flavor's nominal + borrowingLimit (reserved 2+2, on-demand 4+4): NoFit."""
    v = run(cluster, job(gpus=2, pods=5))
    assert v.status == PENDING
    assert "insufficient quota for nvidia.com/gpu in flavor l4-ondemand, previously considered podsets requests (0) + " \
           "current podset request (10) > maximum capacity (8)" in v.reasons
    assert "request at most 8 nvidia.com/gpu in total: it exceeds nominal 4 + borrowing 4 of team-a-high in l4-ondemand" in v.fixes


def test_larger_than_any_node(cluster):
    """Quota admits 4 GPUs on spot (nominal 12), but no g2-standard-24 node has more than 2."""
    v = run(cluster, job(queue="low", priority="low", gpus=4))
    assert v.status == PENDING and v.flavor == "l4-spot"
    assert "admitted on flavor l4-spot" in v.summary and "no node fits" in v.summary
    assert "request <= 2 GPUs per pod: g2-standard-24 has 2" in v.fixes


def test_requests_without_limits_are_admitted(cluster):
    """Requests without limits stay valid: the team LimitRange sets default requests, never default
    limits below a job's requests (workload/resources.go ValidateResources, Kubernetes "Limit Ranges")."""
    obj = job()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "8", "memory": "32Gi"}, "limits": {"nvidia.com/gpu": "2"}}
    v = run(cluster, obj)
    assert v.status == ADMITTED, v.format()


def test_requests_above_limits_are_rejected_at_creation(cluster):
    """The API server validates the Job's pod template before Kueue sees it (kubernetes/kubernetes
    pkg/apis/core/validation/validation.go validateResourceRequirements: "must be less than or equal to
    cpu limit of 4"), so the Job is never created: rejected, not pending."""
    obj = job()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "8"}, "limits": {"cpu": "4", "nvidia.com/gpu": "2"}}
    v = run(cluster, obj)
    assert v.status == REJECTED and "rejected at creation by the API server" in v.summary
    assert v.reasons == ['Job.batch "mine" is invalid: spec.template.spec.containers[0].resources.requests: '
                         'Invalid value: "8": must be less than or equal to cpu limit of 4']
    assert v.fixes == ["lower the request to the limit, or raise the limit"]


def test_unknown_queue(cluster):
    v = run(cluster, job(queue="lq-team-a-hp"))  # the reference's LocalQueue name
    assert v.status == PENDING and "LocalQueue lq-team-a-hp doesn't exist" in v.summary
    assert v.fixes == [f"set {QUEUE} to one of compact, dws, high, low, shared"]


def test_no_queue_label(cluster):
    """manageJobsWithoutQueueName in a managed namespace: the job stays suspended."""
    v = run(cluster, job(queue=None, priority=None))
    assert v.status == PENDING and "stays suspended" in v.reasons[0]


def test_team_without_dws(cluster):
    v = run(cluster, job(queue="dws", namespace="team-c", priority="low"))
    assert v.status == PENDING and "LocalQueue dws doesn't exist in namespace team-c" in v.reasons


def test_dws_team(cluster):
    """The DWS ClusterQueue's admission check gates the l4-dws flavor (admissionChecksStrategy.onFlavors);
    the pods land on queued-provisioning nodes (they tolerate cloud.google.com/gke-queued via the flavor)."""
    v = run(cluster, job(queue="dws", namespace="team-b", priority="low"))
    assert v.status == ADMITTED and v.flavor == "l4-dws" and v.admission_checks == ["dws"]
    assert v.pools == {"main": gke_pool("l4-dws")}


def test_compact_job_on_nap(cluster):
    obj = job(queue="compact", priority="compact", gpus=1, pods=2,
              nodeSelector={"cloud.google.com/gke-placement-group": "team-a-mine"})
    v = run(cluster, obj)
    assert v.status == ADMITTED and v.flavor == "a100-compact-spot"
    assert v.pools == {"main": "NAP a2-highgpu-1g (compact placement group team-a-mine)"}


def test_compact_job_without_placement_group_is_rejected(cluster):
    v = run(cluster, job(queue="compact", priority="compact", gpus=1))
    assert v.status == REJECTED
    assert "cloud.google.com/gke-placement-group" in v.fixes[0]


def test_priority_must_match_the_queue(cluster):
    v = run(cluster, job(priority="low"))
    assert v.status == REJECTED and "set priorityClassName: high" in v.fixes[0]


def test_non_matching_node_selector(cluster):
    """An A100 selector in the L4-only high queue matches no flavor's nodeLabels."""
    v = run(cluster, job(nodeSelector={"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}))
    assert v.status == PENDING
    assert v.reasons == ["flavor l4-reserved doesn't match node affinity", "flavor l4-ondemand doesn't match node affinity"]


def test_selector_on_a_key_no_flavor_defines_is_ignored_by_kueue_but_not_by_the_scheduler(cluster):
    """Kueue drops selector keys the flavor does not define (flavorSelector); kube-scheduler does not."""
    v = run(cluster, job(nodeSelector={"disktype": "ssd"}))
    assert v.status == PENDING and v.flavor == "l4-reserved" and "no node fits" in v.summary


def test_occupied_cohort_sends_low_to_spot(cluster):
    """With both high queues using their reserved GPUs, the cohort has nothing to lend: low skips
    reserved (it may not preempt) and runs on its own spot quota."""
    v = run(cluster, job(queue="low", priority="low"), used("team-a-high=l4-reserved:2"), used("team-b-high=l4-reserved:2"))
    assert v.status == ADMITTED and v.flavor == "l4-spot" and v.borrowing_from == []


def test_high_prefers_own_on_demand_over_reclaiming(cluster):
    """whenCanPreempt: TryNextFlavor - with low jobs borrowing all reserved GPUs, a high job takes its own
    on-demand quota rather than preempting them."""
    running = tuple(map(used, ("team-a-low=l4-reserved:2", "team-b-low=l4-reserved:2")))
    v = run(cluster, job(), *running)
    assert v.status == ADMITTED and v.flavor == "l4-ondemand" and v.preempts == []


def test_high_reclaims_reserved_when_on_demand_is_full(cluster):
    """Reclaim within the cohort: the low queues are above their nominal (0) in reserved, priority 10 < 20."""
    running = tuple(map(used, ("team-a-low=l4-reserved:2", "team-b-low=l4-reserved:2", "team-a-high=l4-ondemand:8")))
    v = run(cluster, job(), *running)
    assert v.status == ADMITTED and v.flavor == "l4-reserved"
    assert len(v.preempts) == 1 and "team-" in v.preempts[0] and "-low" in v.preempts[0]


def test_full_queue_waits(cluster):
    """Nothing to preempt: same priority in its own queue, no borrower in on-demand."""
    running = tuple(map(used, ("team-a-high=l4-reserved:2", "team-b-high=l4-reserved:2", "team-a-high=l4-ondemand:8")))
    v = run(cluster, job(), *running)
    assert v.status == PENDING and "waits for quota" in v.summary


def test_unknown_namespace_is_rejected(cluster):
    v = run(cluster, job(namespace="ml"))
    assert v.status == REJECTED and "namespace ml does not exist" in v.summary


def test_uncovered_resource(cluster):
    obj = job()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] = {"ephemeral-storage": "10Gi"}
    v = run(cluster, obj)
    assert v.status == PENDING and "resource ephemeral-storage unavailable in ClusterQueue" in v.reasons


def test_cli_on_a_users_file(tmp_path, capsys, monkeypatch, dev_capture):
    # The command's own program run, served from the session's capture of the same stack (speed only).
    monkeypatch.setattr("components.cli.stack.run_stack", lambda stack: dev_capture)
    path = tmp_path / "job.yaml"
    broken = job(gpus=4)
    path.write_text(yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}, broken]))
    assert cli(["explain", "dev", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("PENDING: Job team-a/mine")
    good = copy.deepcopy(broken)
    good["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "2"
    path.write_text(yaml.safe_dump(good))
    assert cli(["explain", "dev", str(path), "--used", used("team-b-high=l4-reserved:2")]) == 0
    assert cli(["explain", "dev", str(path), "--used", "nope"]) == 2
    assert "write key=value pairs, e.g. cq=team-b-high,flavor=l4-reserved" in capsys.readouterr().err
    assert cli(["explain", "dev", "--team", "team-a", "--kind", "compact"]) == 0


@pytest.mark.parametrize("change, reason", [
    (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "containers[0].securityContext.privileged: true"),
    (lambda s: s.update(hostNetwork=True), "spec.template.spec.hostNetwork: true"),
    (lambda s: s.update(volumes=[{"name": "root", "hostPath": {"path": "/"}}]), "hostPath: '/'"),
    (lambda s: s.pop("securityContext"), "runAsNonRoot must be true"),
])
def test_a_privileged_pod_is_rejected_at_creation(cluster, change, reason):
    """Team namespaces enforce Pod Security restricted: the Job is created, its pods are not."""
    obj = job()
    change(obj["spec"]["template"]["spec"])
    v = run(cluster, obj)
    assert v.status == REJECTED and "rejected at creation by Pod Security Admission" in v.summary
    assert any(reason in r for r in v.reasons), v.reasons
    assert v.fixes


def test_csi_volume_needs_its_gke_add_on(cluster, dev_capture):
    """The cluster enables the Cloud Storage FUSE CSI driver (addonsConfig.gcsFuseCsiDriverConfig), so the
    team bucket mounts; a driver whose add-on is off leaves the pod unable to start."""
    obj = job(volumes=[{"name": "b", "csi": {"driver": "gcsfuse.csi.storage.gke.io", "volumeAttributes": {"bucketName": "x"}}}])
    assert run(cluster, obj).status == ADMITTED
    obj["spec"]["template"]["spec"]["volumes"] = [{"name": "f", "csi": {"driver": "secrets-store.csi.k8s.io"}}]
    v = run(cluster, obj)
    assert v.status == PENDING and v.reasons == ["pod set main: CSI driver secrets-store.csi.k8s.io is not enabled on the cluster"]


FIX_VERBS = ("set ", "add ", "remove ", "use ", "drop ", "request ", "lower ", "make ", "create ", "wait ", "ask ",
             "run ", "raise ", "select ", "fix ", "change ", "enable ", "submit ", "put ", "flavor ")


def test_because_and_fix_say_different_things(cluster):
    """Across every kind of verdict, a fix is an action (it starts with what to do) and never repeats a reason."""
    from test_explain_submission import API_CASES, _resources
    cases = [job(priority="low"), job(gpus=2, pods=5), job(queue="lq-team-a-hp"), job(queue=None, priority=None),
             job(queue="low", priority="low", gpus=4), job(nodeSelector={"cloud.google.com/gke-accelerator": "x"}),
             job(namespace="ml"), job(namespace="default"), job(queue="compact", priority="compact", gpus=1)]
    cases += [_resources(job(), **resources) for _, resources, _ in API_CASES]
    verdicts = [run(cluster, o) for o in cases]
    verdicts.append(run(cluster, job(), *map(used, ("team-a-high=l4-reserved:2", "team-b-high=l4-reserved:2",
                                                    "team-a-high=l4-ondemand:8"))))
    for v in verdicts:
        assert v.status != ADMITTED and v.fixes, v.format()
        for fix in v.fixes:
            assert fix not in v.reasons and not any(fix in r for r in v.reasons if len(fix) > 40), v.format()
            assert fix.startswith(FIX_VERBS), fix
