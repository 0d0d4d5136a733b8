"""Before Kueue: what the API server and Kueue's job reconciler do with a Job the user submits.

- API validation, kubernetes/kubernetes `pkg/apis/core/validation/validation.go`
  validateResourceRequirements (via ValidateJob -> ValidatePodTemplateSpec) and
  `pkg/apis/batch/validation` ValidateJobSpec: the messages are the API server's own;
- unmanaged namespaces, Kueue v0.19.2 `pkg/controller/jobframework/reconciler.go` (the
  managedJobsNamespaceSelector check comes first; ManagedJobsNamespaceSelectorAlwaysRespected is GA and
  locked on, `pkg/features/kube_features.go`) and docs `opt_in_namespace_management.md` ("Users cannot
  bypass Kueue's quota system by manually adding queue-name labels to workloads in unmanaged namespaces");
- priority, `reconciler.go` ExtractPriority: the kueue.x-k8s.io/priority-class WorkloadPriorityClass wins
  over the pod's PriorityClass; a missing class builds no Workload.
"""

from __future__ import annotations

import pytest

from components.explain import ADMITTED, PENDING, REJECTED, UNMANAGED, explain, from_capture, from_object, view
from components.explain.jobs import team_namespaces
from test_explain import job, run


@pytest.fixture(scope="module")
def cluster(dev_capture):
    return from_capture(dev_capture)


def _resources(obj: dict, **resources) -> dict:
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = resources
    return obj


PATH = "spec.template.spec.containers[0].resources"
API_CASES = [
    # (case, resources, the API server's error)
    ("gpu request without a limit", {"requests": {"nvidia.com/gpu": "2"}},
     f"{PATH}.limits: Required value: Limit must be set for non overcommitable resources"),
    ("gpu request below its limit", {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}},
     f'{PATH}.requests: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2'),
    ("gpu request above its limit", {"requests": {"nvidia.com/gpu": "3"}, "limits": {"nvidia.com/gpu": "2"}},
     f'{PATH}.requests: Invalid value: "3": must be equal to nvidia.com/gpu limit of 2'),
    ("memory request above its limit", {"requests": {"memory": "8Gi"}, "limits": {"memory": "4Gi", "nvidia.com/gpu": "1"}},
     f'{PATH}.requests: Invalid value: "8Gi": must be less than or equal to memory limit of 4Gi'),
    ("negative cpu", {"requests": {"cpu": "-1"}, "limits": {"nvidia.com/gpu": "1"}},
     f'{PATH}.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0'),
    ("half a gpu", {"limits": {"nvidia.com/gpu": "0.5"}},
     f'{PATH}.limits[nvidia.com/gpu]: Invalid value: "0.5": must be an integer'),
]


@pytest.mark.parametrize("case, resources, error", API_CASES, ids=[c[0] for c in API_CASES])
def test_the_api_server_rejects_invalid_resources(cluster, case, resources, error):
    v = run(cluster, _resources(job(), **resources))
    assert v.status == REJECTED and v.reasons == [f'Job.batch "mine" is invalid: {error}'], v.format()
    assert v.fixes and all(f and not f.startswith(("because", "the ")) for f in v.fixes)


def test_cpu_request_below_its_limit_is_valid(cluster):
    """cpu and memory may be overcommitted (IsOvercommitAllowed): request < limit is fine."""
    v = run(cluster, _resources(job(), requests={"cpu": "2"}, limits={"cpu": "4", "nvidia.com/gpu": "2"}))
    assert v.status == ADMITTED, v.format()


@pytest.mark.parametrize("field", ["parallelism", "completions"])
def test_negative_parallelism_or_completions_is_rejected(cluster, field):
    obj = job()
    obj["spec"][field] = -1
    v = run(cluster, obj)
    assert v.status == REJECTED
    assert f'Job.batch "mine" is invalid: spec.{field}: Invalid value: -1: must be greater than or equal to 0' in v.reasons


def test_jobset_child_jobs_are_rejected():
    """A JobSet's webhook does not check pod resources (jobset v0.12.0 jobset_webhook.go ValidateCreate):
    the API server rejects each child Job (named <jobset>-<replicatedJob>-<index>) instead."""
    from components.explain.apiserver import rejections
    template = _resources(job(), requests={"nvidia.com/gpu": "1"})["spec"]
    js = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "js"},
          "spec": {"replicatedJobs": [{"name": "workers", "template": {"spec": template}}]}}
    assert rejections(js) == [f'Job.batch "js-workers-0" is invalid: {PATH}.limits: Required value: '
                              "Limit must be set for non overcommitable resources"]


@pytest.mark.parametrize("namespace", ["default", "monitoring", "jobset-system"])
def test_a_job_outside_managed_namespaces_runs_outside_every_quota(cluster, namespace):
    """Even with a queue-name label Kueue never manages it; `default` exists in every cluster."""
    v = run(cluster, job(namespace=namespace, gpus=64))
    assert v.status == UNMANAGED and "runs outside every quota" in v.summary
    assert "managedJobsNamespaceSelector" in v.reasons[0]
    assert v.fixes == ["create it in your team's namespace (team-a, team-b, team-c, team-d)"]


def test_wrong_namespace_suggests_team_namespaces_only(cluster):
    v = run(cluster, job(namespace="ml"))
    assert v.status == REJECTED and v.fixes == ["use your team's namespace: team-a, team-b, team-c, team-d"]
    assert team_namespaces(cluster) == ["team-a", "team-b", "team-c", "team-d"]


def _cluster_with(*extra):
    """One managed namespace with a queue (default Kueue Configuration: everything but kube-system and
    kueue-system is managed), a 4-GPU ClusterQueue and the given PriorityClasses/WorkloadPriorityClasses."""
    objs = [{"kind": "Namespace", "metadata": {"name": "ns"}},
            {"kind": "LocalQueue", "metadata": {"name": "q", "namespace": "ns"}, "spec": {"clusterQueue": "cq"}},
            {"kind": "ClusterQueue", "metadata": {"name": "cq"}, "spec": {
                "namespaceSelector": {}, "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
                    {"name": "gpu", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 4}]}]}]}},
            {"kind": "ResourceFlavor", "metadata": {"name": "gpu"}, "spec": {}}, *extra]
    return view(objs)


def _job(labels=None, priority_class=None):
    spec = {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}
    if priority_class:
        spec["priorityClassName"] = priority_class
    return from_object({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "j", "namespace": "ns", "labels": {"kueue.x-k8s.io/queue-name": "q", **(labels or {})}},
        "spec": {"template": {"spec": spec}}})


PC = {"kind": "PriorityClass", "metadata": {"name": "pod-high"}, "value": 1000}
WPC = {"kind": "WorkloadPriorityClass", "metadata": {"name": "wl-low"}, "value": 5}


def test_workload_priority_class_wins_over_the_pod_priority_class():
    v = explain(_cluster_with(PC, WPC), _job({"kueue.x-k8s.io/priority-class": "wl-low"}, "pod-high"))
    assert v.flavor == "gpu" and "priority 5 (WorkloadPriorityClass wl-low)" in "\n".join(v.trace)  # Kueue admits it


def test_missing_workload_priority_class_builds_no_workload():
    v = explain(_cluster_with(PC), _job({"kueue.x-k8s.io/priority-class": "urgent"}, "pod-high"))
    assert v.status == PENDING and "gets no Workload" in v.summary
    assert v.reasons == ['WorkloadPriorityClass "urgent" (label kueue.x-k8s.io/priority-class) does not exist, so Kueue '
                         "creates no Workload and the job stays suspended"]
    assert v.fixes == ["remove the label kueue.x-k8s.io/priority-class (this cluster defines no WorkloadPriorityClass)"]


def test_global_default_priority_is_the_lowest_default():
    """getDefaultPriorityClass: with several globalDefault classes the lowest value wins."""
    defaults = [{"kind": "PriorityClass", "metadata": {"name": n}, "value": v, "globalDefault": True}
                for n, v in (("b", 50), ("a", 7))]
    v = explain(_cluster_with(*defaults), _job())
    assert "priority 7 (global default PriorityClass a)" in "\n".join(v.trace)


def test_teams_can_create_jobs_only_where_kueue_manages_them(cluster):
    """The platform's answer to unmanaged namespaces: a team member's only create right on Jobs/JobSets is
    the namespaced Role of their own team namespace (Kubernetes RBAC: a RoleBinding grants within its
    namespace only), and every such namespace is managed - so only platform admins could start a job
    outside the quotas, and `explain` calls that out as UNMANAGED."""
    from components.explain.jobs import managed, namespace_labels
    granting = {o["metadata"]["namespace"] for o in cluster.of_kind("Role")
                if any("create" in r["verbs"] and {"jobs", "jobsets"} & set(r["resources"]) for r in o["rules"])}
    assert granting == {"team-a", "team-b", "team-c", "team-d"}
    assert all(managed(cluster, namespace_labels(cluster, ns)) for ns in granting)
    # The only cluster-wide role is the Argo Server's read-only one (argo.server_rbac), bound to its account.
    assert not [r for o in cluster.of_kind("ClusterRole") for r in o["rules"] if set(r["verbs"]) - {"list", "watch"}]
    assert [s for o in cluster.of_kind("ClusterRoleBinding") for s in o["subjects"]] == [
        {"kind": "ServiceAccount", "name": "argo-workflows-server", "namespace": "argo"}]
    # Their only Google Cloud role on the project is the one that fetches cluster credentials
    # (components/gcp/identity.py); what they may do inside is this RBAC.
    from components.gcp.identity import MEMBER_PROJECT_ROLE
    assert MEMBER_PROJECT_ROLE == "roles/container.clusterViewer"


MALFORMED = [
    ("metadata-string", lambda o: o.update(metadata="x"), "metadata is a string; it must be a mapping"),
    ("containers-mapping", lambda o: o["spec"]["template"]["spec"].update(containers={"name": "x"}),
     "spec.template.spec.containers is a mapping; it must be a list of containers"),
    ("parallelism-string", lambda o: o["spec"].update(parallelism="two"), "spec.parallelism is a string; it must be an integer"),
    ("quantity-garbage", lambda o: o["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].update(
        {"nvidia.com/gpu": "lots"}), "containers[0].resources.limits[nvidia.com/gpu]: 'lots' is not a Kubernetes quantity"),
    ("no-containers", lambda o: o["spec"]["template"]["spec"].update(containers=[]), "a pod needs at least one container"),
]


@pytest.mark.parametrize("case, change, message", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_job_names_the_field(case, change, message):
    """What the API server cannot even decode is bad input (exit 2), named by its field path."""
    from components.explain import WorkloadError
    obj = job()
    change(obj)
    with pytest.raises(WorkloadError) as err:
        from_object(obj)
    assert message in str(err.value)


def _allows(role: dict, group: str, resource: str, verb: str) -> bool:
    """Kubernetes RBAC: a rule allows a request when its apiGroups, resources (a subresource as
    `resource/subresource`) and verbs each hold the request's, or `*`."""
    return any((group in r["apiGroups"] or "*" in r["apiGroups"]) and (resource in r["resources"] or "*" in r["resources"])
               and (verb in r["verbs"] or "*" in r["verbs"]) for r in role["rules"])


def test_team_members_can_read_the_live_answer(cluster):
    """The team Role lets members read what explain predicts, live: their Workloads and LocalQueues, and
    the visibility API's pending workloads of their LocalQueues (GET /apis/visibility.kueue.x-k8s.io/
    v1beta2/namespaces/<ns>/localqueues/<lq>/pendingworkloads; Kueue docs
    pending_workloads_on_demand.md "Local Queue visibility via kubectl"; the chart always installs the
    v1beta2.visibility.kueue.x-k8s.io APIService, charts/kueue/templates/visibility/apiservice_v1beta2.yaml).
    Only in their own namespace (a Role), and not the cluster-wide ClusterQueue view. (A pipelines team's
    other Role, argo-executor, is its workflow pods' account's, not its members'.)"""
    roles = [r for r in cluster.of_kind("Role") if r["metadata"]["name"] == "batch-user"]
    assert len(roles) == 4
    for role in roles:
        assert _allows(role, "visibility.kueue.x-k8s.io", "localqueues/pendingworkloads", "get")
        assert _allows(role, "kueue.x-k8s.io", "workloads", "list") and _allows(role, "kueue.x-k8s.io", "localqueues", "get")
        assert not _allows(role, "visibility.kueue.x-k8s.io", "clusterqueues/pendingworkloads", "get")
        assert not _allows(role, "kueue.x-k8s.io", "workloads", "create")
