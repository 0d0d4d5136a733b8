"""The admission simulator against Kueue's own unit tests: cases of
kubernetes-sigs/kueue v0.19.2 `pkg/scheduler/flavorassigner/flavorassigner_test.go` (TestAssignFlavors)
(preemption_test.go TestPreemption is restated in test_explain_preemption.py),
re-stated with the same flavors, quotas, requests and expected flavor / mode / messages, plus the
documented ResourceFlavor semantics (`site/content/en/docs/concepts/resource_flavor.md`: nodeTaints
restrict a flavor to workloads that tolerate them; the flavor's tolerations are added to admitted
pods) and LimitRange defaulting (`pkg/workload/resources.go`).
"""

from __future__ import annotations

from components.explain import PENDING, explain, from_object, view
from components.explain.quantity import parse
from components.explain.quota import FIT, NO_FIT, Queue, Quotas, Running, assign

TAINT = {"key": "instance", "value": "spot", "effect": "NoSchedule"}
FLAVORS = {
    "default": {}, "one": {"nodeLabels": {"type": "one"}}, "two": {"nodeLabels": {"type": "two"}},
    "tainted": {"nodeTaints": [TAINT]},
    "taint_and_toleration": {"nodeTaints": [TAINT], "tolerations": [{**TAINT, "operator": "Equal"}]},
    "label-x-a": {"nodeLabels": {"x": "a"}}, "label-xy-b": {"nodeLabels": {"x": "b", "y": "k"}},
}
RFS = {name: {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": name}, "spec": spec}
       for name, spec in FLAVORS.items()}


def cq(name: str, *flavors: tuple[str, dict[str, str | tuple[str, str]]], cohort: str | None = None, **spec) -> dict:
    """ClusterQueue with one resource group; a quota is "4" (nominal) or ("10", "1") (nominal, borrowingLimit)."""
    covered = list(dict.fromkeys(r for _, quotas in flavors for r in quotas))
    group = {"coveredResources": covered, "flavors": [
        {"name": f, "resources": [
            {"name": r, "nominalQuota": q if isinstance(q, str) else q[0], **({} if isinstance(q, str) else {"borrowingLimit": q[1]})}
            for r, q in quotas.items()]}
        for f, quotas in flavors]}
    out = {"kind": "ClusterQueue", "metadata": {"name": name}, "spec": {"resourceGroups": [group], **spec}}
    if cohort:
        out["spec"]["cohortName"] = cohort
    return out


def requests(**resources: str) -> dict[str, int]:
    return {r.replace("_", "."): parse(r, v) for r, v in resources.items()}


def assign_for(queue: dict, pod_sets, others=(), running=()):
    queues = {q["metadata"]["name"]: Queue.from_object(q) for q in (queue, *others)}
    return assign(Quotas(queues, {}, list(running)), queues[queue["metadata"]["name"]], RFS, pod_sets)


def test_multiple_flavors_fits_while_skipping_tainted_flavor():
    a = assign_for(cq("test-clusterqueue", ("tainted", {"cpu": "4"}), ("two", {"cpu": "4"})),
                   [("main", 1, {}, requests(cpu="3"))])
    ps = a.pod_sets[0]
    assert (ps.flavor, ps.mode) == ("two", FIT)
    assert ps.tries[0].reasons == ["untolerated taint {instance spot NoSchedule <nil>} in flavor tainted"]


def test_single_flavor_fits_tainted_flavor_with_toleration():
    a = assign_for(cq("test-clusterqueue", ("taint_and_toleration", {"cpu": "4"})), [("main", 1, {}, requests(cpu="1"))])
    assert (a.pod_sets[0].flavor, a.mode) == ("taint_and_toleration", FIT)


def test_multiple_flavors_fits_a_node_selector():
    """Selector keys and affinity expressions no flavor defines ("ignored1", "ignored2") are ignored."""
    spec = {"nodeSelector": {"type": "two", "ignored1": "foo"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "ignored2", "operator": "In", "values": ["bar"]}]}]}}}}
    a = assign_for(cq("test-clusterqueue", ("one", {"cpu": "4"}), ("two", {"cpu": "4"})), [("main", 1, spec, requests(cpu="1"))])
    ps = a.pod_sets[0]
    assert ps.flavor == "two" and ps.tries[0].reasons == ["flavor one doesn't match node affinity"]


def test_selector_only_uses_the_flavors_own_keys():
    """"multiple flavors with different label keys, selector only uses flavor's own keys" (kueue#12446)."""
    a = assign_for(cq("test-clusterqueue", ("label-x-a", {"cpu": "4"}), ("label-xy-b", {"cpu": "4"})),
                   [("main", 1, {"nodeSelector": {"x": "a", "y": "g"}}, requests(cpu="1"))])
    assert a.pod_sets[0].flavor == "label-x-a"


def test_labelless_flavor_takes_a_labeled_selector():
    a = assign_for(cq("test-clusterqueue", ("default", {"cpu": "4"}), ("two", {"cpu": "4"})),
                   [("main", 1, {"nodeSelector": {"type": "two"}}, requests(cpu="1"))])
    assert a.pod_sets[0].flavor == "default"


def test_multiple_specs_fit_borrowing():
    a = assign_for(cq("test-clusterqueue", ("default", {"cpu": ("2", "98"), "memory": "2Gi"}), cohort="test-cohort"),
                   [("driver", 1, {}, requests(cpu="4", memory="1Gi")), ("worker", 1, {}, requests(cpu="6", memory="4Gi"))],
                   others=[cq("test-secondary-clusterqueue", ("default", {"cpu": "198", "memory": "198Gi"}), cohort="test-cohort")])
    assert [(ps.flavor, ps.mode, ps.borrows) for ps in a.pod_sets] == [("default", FIT, True), ("default", FIT, True)]


def test_resource_not_listed_in_cluster_queue():
    a = assign_for(cq("test-clusterqueue", ("one", {"cpu": "4"})), [("main", 1, {}, {"example.com/gpu": 2})])
    assert a.mode == NO_FIT and a.tries[0].reasons == ["resource example.com/gpu unavailable in ClusterQueue"]


def test_num_pods_fit_and_dont_fit():
    fits = assign_for(cq("test-clusterqueue", ("default", {"pods": "3", "cpu": "10"})), [("main", 3, {}, requests(cpu="1"))])
    assert fits.mode == FIT
    full = assign_for(cq("test-clusterqueue", ("default", {"pods": "2", "cpu": "10"})), [("main", 3, {}, requests(cpu="1"))])
    assert full.mode == NO_FIT
    assert full.tries[0].reasons == ["insufficient quota for pods in flavor default, previously considered podsets "
                                     "requests (0) + current podset request (3) > maximum capacity (2)"]


def test_borrow_try_next_flavor_found_the_second_flavor():
    queue = cq("test-clusterqueue", ("one", {"pods": "10", "cpu": ("10", "1")}), ("two", {"pods": "10", "cpu": "10"}),
               cohort="test-cohort", flavorFungibility={"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "TryNextFlavor"})
    other = cq("test-secondary-clusterqueue", ("one", {"cpu": "1"}), cohort="test-cohort")
    a = assign_for(queue, [("main", 1, {}, requests(cpu="9"))], others=[other],
                   running=[Running("w", "test-clusterqueue", {("one", "cpu"): 2000}, 0)])
    ps = a.pod_sets[0]
    assert [(t.flavor, t.mode, t.borrows) for t in ps.tries] == [("one", FIT, True), ("two", FIT, False)]
    assert ps.flavor == "two"


def test_borrow_stops_at_the_first_flavor_by_default():
    """The same queue with the default whenCanBorrow (MayStopSearch) stays on flavor one, borrowing."""
    queue = cq("test-clusterqueue", ("one", {"pods": "10", "cpu": ("10", "1")}), ("two", {"pods": "10", "cpu": "10"}),
               cohort="test-cohort")
    other = cq("test-secondary-clusterqueue", ("one", {"cpu": "1"}), cohort="test-cohort")
    a = assign_for(queue, [("main", 1, {}, requests(cpu="9"))], others=[other],
                   running=[Running("w", "test-clusterqueue", {("one", "cpu"): 2000}, 0)])
    assert (a.pod_sets[0].flavor, a.borrows) == ("one", True)


def _namespace_queue_and_job(limit_range: dict, flavor_spec: dict, pod_spec: dict):
    objs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": "ns"}, "spec": limit_range},
        {"kind": "LocalQueue", "metadata": {"name": "q", "namespace": "ns"}, "spec": {"clusterQueue": "cq"}},
        {**cq("cq", ("gpu", {"cpu": "100", "memory": "100Gi", "nvidia.com/gpu": "8"})),
         "spec": {**cq("cq", ("gpu", {"cpu": "100", "memory": "100Gi", "nvidia.com/gpu": "8"}))["spec"], "namespaceSelector": {}}},
        {"kind": "ResourceFlavor", "metadata": {"name": "gpu"}, "spec": flavor_spec},
    ]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ns", "labels": {"kueue.x-k8s.io/queue-name": "q"}},
           "spec": {"template": {"spec": pod_spec}}}
    return view(objs), from_object(job)


def test_user_yaml_missing_the_toleration_of_a_flavor_with_node_taints():
    """resource_flavor.md: with `nodeTaints`, only workloads that tolerate the taint get the flavor."""
    cluster, wl = _namespace_queue_and_job(
        {"limits": []}, {"nodeLabels": {"pool": "gpu"}, "nodeTaints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]},
        {"containers": [{"name": "main", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]})
    v = explain(cluster, wl)
    assert v.status == PENDING
    assert v.reasons == ["untolerated taint {nvidia.com/gpu present NoSchedule <nil>} in flavor gpu"]
    assert v.fixes == ['add toleration {key: nvidia.com/gpu, operator: Equal, value: "present", effect: NoSchedule} '
                       "to spec.template.spec.tolerations"]


def test_limit_range_default_limit_below_requests_makes_the_job_inadmissible():
    """handlePodLimitRange fills missing *limits* from `default`; a request above it then fails
    ValidateResources ("requests must not exceed its limits"): why the team LimitRange sets requests only."""
    cluster, wl = _namespace_queue_and_job(
        {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "4Gi"}, "defaultRequest": {"cpu": "1", "memory": "4Gi"}}]},
        {}, {"containers": [{"name": "main", "resources": {"requests": {"cpu": "8"}, "limits": {"nvidia.com/gpu": "1"}}}]})
    v = explain(cluster, wl)
    assert v.status == PENDING and "requests must not exceed its limits" in v.reasons[0]
