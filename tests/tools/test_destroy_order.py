"""`pulumi destroy` is never blocked by Kueue's finalizers, in either stack.

Pulumi deletes a resource before everything it depends on (the reverse of creation order), so the
captured dependency graph is the destroy order. Kueue (v0.19.2; kubernetes-sigs/kueue#249, #1253; upstream
`pkg/webhooks/resourceflavor_webhook.go` / `clusterqueue_webhook.go` add the finalizer
`kueue.x-k8s.io/resource-in-use`; `site/content/en/docs/tasks/troubleshooting/troubleshooting_delete_clusterqueue.md`):
a ResourceFlavor is not removed while a ClusterQueue references it, a ClusterQueue stays Terminating
while it has admitted workloads, only the running controller removes those finalizers, and the
ClusterQueue/LocalQueue/Cohort CRDs convert through the controller's webhook. So: the controller
(chart) must outlive every Kueue object, LocalQueues go before their ClusterQueue, ClusterQueues before
their flavors, and no ClusterQueue may wait for a team namespace (whose deletion removes the Jobs, hence
the Workloads that hold the ClusterQueue).
"""

from __future__ import annotations

from functools import lru_cache

from components.capture import Capture

KUEUE = "kubernetes:kueue.x-k8s.io/"
T_CQ = KUEUE + "v1beta2:ClusterQueue"
T_LQ = KUEUE + "v1beta2:LocalQueue"
T_RF = KUEUE + "v1beta2:ResourceFlavor"
T_NS = "kubernetes:core/v1:Namespace"
T_CHART = "kubernetes:helm.sh/v4:Chart"


def deleted_before(capture: Capture):
    """deleted_before(a, b): `a` is destroyed before `b` starts (a depends on b, transitively)."""
    deps = {r.urn: set(r.dependencies) for r in capture.resources}

    @lru_cache(maxsize=None)
    def closure(urn: str) -> frozenset:
        out = set()
        for dep in deps.get(urn, ()):
            out |= {dep, *closure(dep)}
        return frozenset(out)

    return lambda a, b: b.urn in closure(a.urn)


def _by_name(capture: Capture, type_: str) -> dict:
    return {r.inputs["metadata"]["name"]: r for r in capture.of_type(type_)}


def test_kueue_controller_is_destroyed_after_every_kueue_object(stack_capture):
    before = deleted_before(stack_capture)
    kueue = next(r for r in stack_capture.of_type(T_CHART) if r.name.endswith("kueue"))
    objects = [r for r in stack_capture.resources if r.type.startswith(KUEUE)]
    assert objects
    assert [r.name for r in objects if not before(r, kueue)] == []


def test_queues_are_destroyed_before_what_they_use(stack_capture):
    before = deleted_before(stack_capture)
    cqs, flavors = _by_name(stack_capture, T_CQ), _by_name(stack_capture, T_RF)
    for lq in stack_capture.of_type(T_LQ):
        assert before(lq, cqs[lq.inputs["spec"]["clusterQueue"]]), lq.name
    for cq in cqs.values():
        used = {f["name"] for g in cq.inputs["spec"]["resourceGroups"] for f in g["flavors"]}
        for name in used:
            assert before(cq, flavors[name]), (cq.name, name)


def test_no_cluster_queue_waits_for_a_team_namespace(stack_capture):
    before = deleted_before(stack_capture)
    namespaces = [ns for ns in stack_capture.of_type(T_NS) if "batch-platform/team" in ns.inputs["metadata"].get("labels", {})]
    assert namespaces
    for cq in stack_capture.of_type(T_CQ):
        assert [ns.name for ns in namespaces if before(cq, ns)] == [], cq.name
