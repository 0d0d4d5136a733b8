"""Namespace isolation on the rendered objects: Pod Security levels, every platform workload under
`restricted`, NetworkPolicy flows, the ClusterIP-only Service policy and the team Role.

NetworkPolicy semantics (Kubernetes "Network Policies"): a pod selected by no policy of a direction
allows everything in it; once selected, a connection is allowed only if some policy selecting the pod
(for that policyType) has a rule whose peers and ports match; a namespaceSelector with a podSelector in
one peer means both; an ipBlock matches addresses in `cidr` and not in `except`. Both ends must allow
(the source's egress and the destination's ingress).
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Optional

import pytest

from components.explain.pod_security import violations
from components.kubernetes import isolation, render
from components.model import parse_platform
from components.plan import kubernetes_object
from components.workloads.render import kinds_for, render as render_workload
from conftest import STACKS, load_stack_config
from admission_support import admission_review

NAMESPACE = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
ENFORCE = "pod-security.kubernetes.io/enforce"
# GKE's Cloud Storage FUSE sidecar as its webhook injects it (GoogleCloudPlatform/gcs-fuse-csi-driver
# pkg/webhook/sidecar_spec.go GetSecurityContext, "follows Restricted Pod Security Standard").
GCSFUSE_SIDECAR = {"name": "gke-gcsfuse-sidecar", "image": "gke.gcr.io/gcs-fuse-csi-driver-sidecar-mounter",
                   "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                       "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
                                       "runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534}}


def _platform(stack: str):
    return parse_platform(load_stack_config(stack)["gpu-batch-platform:platform"])


# ---------------------------------------------------------------- Pod Security Admission


def test_every_namespace_has_its_stated_pod_security_level(dev_capture):
    levels = {}
    for r in dev_capture.of_type(NAMESPACE):
        obj = kubernetes_object(r)
        levels[obj["metadata"]["name"]] = (obj["metadata"].get("labels") or {}).get(ENFORCE)
    teams = {t.name for t in _platform("dev").teams}
    assert {n: levels[n] for n in teams} == {n: "restricted" for n in teams}
    # argo: dev's team-d has pipelines (components/kubernetes/argo.py namespace_objects).
    assert levels["kueue-system"] == levels["jobset-system"] == levels["argo"] == "restricted"
    assert levels["monitoring"] == "privileged"  # node-exporter: hostNetwork, hostPID, hostPath / (isolation.py)
    assert set(levels) == teams | {"kueue-system", "jobset-system", "monitoring", "argo"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_workload_runs_under_restricted(stack):
    """Each team's every kind, with GKE's FUSE sidecar injected as its webhook does."""
    platform = _platform(stack)
    checked = 0
    for team in platform.teams:
        for kind in kinds_for(platform, team):
            for obj in render_workload(platform, team.name, kind):
                if obj["kind"] == "Job":
                    specs = [obj["spec"]["template"]["spec"]]
                elif obj["kind"] == "JobSet":
                    specs = [rj["template"]["spec"]["template"]["spec"] for rj in obj["spec"]["replicatedJobs"]]
                else:
                    continue
                for spec in specs:
                    injected = copy.deepcopy(spec)
                    injected.setdefault("initContainers", []).append(GCSFUSE_SIDECAR)
                    assert violations(injected, "restricted") == [], (team.name, kind)
                    checked += 1
    assert checked >= len(platform.teams) * 3


@pytest.mark.parametrize("change, expected", [
    (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "privileged: true"),
    (lambda s: s.update(hostNetwork=True), "hostNetwork: true"),
    (lambda s: s["volumes"].append({"name": "root", "hostPath": {"path": "/"}}), "hostPath: '/'"),
    (lambda s: s["securityContext"].update(runAsUser=0), "runAsUser: 0"),
    (lambda s: s["securityContext"].pop("runAsNonRoot"), "runAsNonRoot must be true"),
    (lambda s: s["securityContext"].pop("seccompProfile"), "seccompProfile.type must be RuntimeDefault"),
    (lambda s: s["containers"][0]["securityContext"].pop("allowPrivilegeEscalation"), "allowPrivilegeEscalation"),
    (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]), "SYS_ADMIN"),
    (lambda s: s["containers"][0]["ports"][0].update(hostPort=29500), "hostPort: 29500"),
])
def test_restricted_refuses_what_a_reviewer_would(change, expected):
    platform = _platform("dev")
    job = next(o for o in render_workload(platform, "team-a", "high") if o["kind"] == "Job")
    spec = copy.deepcopy(job["spec"]["template"]["spec"])
    change(spec)
    found = violations(spec, "restricted")
    assert any(expected in v for v in found), found


# ---------------------------------------------------------------- NetworkPolicy flows


@dataclass
class Pod:
    namespace: str
    labels: dict = field(default_factory=dict)
    ip: str = "10.48.0.10"


def _ns_labels(ns: str) -> dict:
    return {"kubernetes.io/metadata.name": ns}


def _selects(selector: Optional[dict], labels: dict) -> bool:
    selector = selector or {}
    expressions = {"Exists": lambda e: e["key"] in labels, "DoesNotExist": lambda e: e["key"] not in labels,
                   "In": lambda e: labels.get(e["key"]) in e["values"],
                   "NotIn": lambda e: labels.get(e["key"]) not in e["values"]}
    return (all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
            and all(expressions[e["operator"]](e) for e in selector.get("matchExpressions", [])))


def _peer_matches(peer: dict, policy_ns: str, other) -> bool:
    if "ipBlock" in peer:
        if isinstance(other, Pod):
            address = ipaddress.ip_address(other.ip)
        else:
            address = ipaddress.ip_address(other)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", []))
    if not isinstance(other, Pod):
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], _ns_labels(other.namespace)):
            return False
    elif other.namespace != policy_ns:
        return False
    return _selects(peer.get("podSelector"), other.labels)


def _port_matches(rule: dict, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def _allowed(policies: list[dict], pod: Pod, direction: str, other, port: int, protocol: str) -> bool:
    mine = [p for p in policies if p["metadata"]["namespace"] == pod.namespace
            and direction in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], pod.labels)]
    if not mine:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in mine:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(p, pod.namespace, other) for p in peers)) and _port_matches(rule, port, protocol):
                return True
    return False


def flow(policies: list[dict], src, dst, port: int, protocol: str = "TCP") -> bool:
    """Is a connection from `src` (a Pod) to `dst` (a Pod or an IP address) allowed?"""
    out = _allowed(policies, src, "Egress", dst, port, protocol) if isinstance(src, Pod) else True
    inside = _allowed(policies, dst, "Ingress", src, port, protocol) if isinstance(dst, Pod) else True
    return out and inside


@pytest.fixture(scope="module")
def policies(dev_capture) -> list[dict]:
    return [kubernetes_object(r) for r in dev_capture.of_type(NETPOL)]


A, A2, B = Pod("team-a", ip="10.48.0.10"), Pod("team-a", ip="10.48.1.10"), Pod("team-b", ip="10.48.2.10")
DNS = Pod("kube-system", {"k8s-app": "kube-dns"}, "10.48.3.2")
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}, "10.48.4.4")
GRAFANA = Pod("monitoring", {"app.kubernetes.io/name": "grafana"}, "10.48.4.5")
KUEUE = Pod("kueue-system", {"control-plane": "controller-manager"}, "10.48.5.5")
DEFAULT_NS = Pod("default", ip="10.48.6.6")
GOOGLE_API = "199.36.153.9"  # private.googleapis.com; storage.googleapis.com's public addresses alike
PUBLIC_GOOGLE = "142.250.1.207"


@pytest.mark.parametrize("src, dst, port, protocol", [
    (A, A2, 29500, "TCP"),            # torchrun rendezvous within the team
    (A, A2, 40000, "TCP"),            # NCCL's ephemeral ports
    (A, DNS, 53, "UDP"), (A, DNS, 53, "TCP"),
    (A, "169.254.169.252", 988, "TCP"),  # GKE metadata server (Workload Identity)
    (A, "169.254.169.254", 80, "TCP"),   # the same on Dataplane V2
    (A, GOOGLE_API, 443, "TCP"), (A, PUBLIC_GOOGLE, 443, "TCP"),  # Cloud Storage through the FUSE sidecar
    (PROMETHEUS, A, 9090, "TCP"),     # metric scrapes
    (GRAFANA, PROMETHEUS, 9090, "TCP"),
    (PROMETHEUS, KUEUE, 8443, "TCP"),  # Kueue metrics
    ("172.16.0.34", KUEUE, 9443, "TCP"), ("172.16.0.34", KUEUE, 8082, "TCP"),  # webhook, visibility API
])
def test_allowed_flows(policies, src, dst, port, protocol):
    assert flow(policies, src, dst, port, protocol)


@pytest.mark.parametrize("src, dst, port, protocol", [
    (A, B, 29500, "TCP"), (B, A, 29500, "TCP"),  # nothing cross-team, either direction
    (DEFAULT_NS, A, 29500, "TCP"),
    (A, "8.8.8.8", 53, "UDP"),                   # DNS only through kube-dns
    (A, "10.40.0.5", 443, "TCP"),                # the VPC (nodes, internal services)
    (A, "10.52.0.1", 443, "TCP"),                # a Service address
    (A, "172.16.0.34", 443, "TCP"),              # the control plane
    (A, "192.168.0.10", 443, "TCP"),
    (A, PUBLIC_GOOGLE, 80, "TCP"),               # plain HTTP out
    (A, "169.254.169.254", 443, "TCP"),
    (A, KUEUE, 9443, "TCP"),                     # egress to a controller
    (A, PROMETHEUS, 9090, "TCP"),                # ingress of monitoring: only itself
    (A, KUEUE, 8443, "TCP"), (DEFAULT_NS, KUEUE, 8443, "TCP"),
    ("172.16.0.34", KUEUE, 22, "TCP"),
])
def test_denied_flows(policies, src, dst, port, protocol):
    assert not flow(policies, src, dst, port, protocol)


# dev's team-d has pipelines: a pod an Argo workflow created carries the workflow label (Argo v4.0.6
# workflow/common/common.go LabelKeyWorkflow), its Jobs' pods do not. The API server is 10.52.0.1 (the
# `kubernetes` Service, first address of servicesCidr 10.52.0.0/20) before translation and the private
# endpoint in masterCidr 172.16.0.32/28 after it.
STEP = Pod("team-d", {"workflows.argoproj.io/workflow": "train-abc12"}, "10.48.7.7")
D_JOB = Pod("team-d", {"job-name": "train"}, "10.48.7.8")
A_STEP = Pod("team-a", {"workflows.argoproj.io/workflow": "train-abc12"}, "10.48.0.11")


@pytest.mark.parametrize("src, dst, port, allowed", [
    (STEP, "10.52.0.1", 443, True), (STEP, "172.16.0.34", 443, True),
    (STEP, "10.52.0.2", 443, False),    # another Service address
    (STEP, "10.52.0.1", 80, False), (STEP, "172.16.0.34", 10250, False),
    (STEP, "10.40.0.5", 443, False),    # the nodes
    (D_JOB, "10.52.0.1", 443, False), (D_JOB, "172.16.0.34", 443, False),  # a team-d Job's pod
    (A_STEP, "10.52.0.1", 443, False),  # the label in a team without pipelines grants nothing
    (STEP, "169.254.169.252", 988, True), (STEP, GOOGLE_API, 443, True),  # the rest of the job egress
])
def test_only_workflow_pods_of_a_pipelines_team_reach_the_api_server(policies, src, dst, port, allowed):
    assert flow(policies, src, dst, port) is allowed


def test_every_team_namespace_has_the_default_deny(policies):
    for team in _platform("dev").teams:
        deny = [p for p in policies if p["metadata"]["namespace"] == team.name and p["metadata"]["name"] == "default-deny"]
        assert deny and deny[0]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


# ---------------------------------------------------------------- Services and the team Role


def _service(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "team-a"},
            "spec": {"ports": [{"port": 80}], **spec}}


TEAM_NS = {"kubernetes.io/metadata.name": "team-a", "batch-platform/team": "team-a", "batch-platform/kueue-managed": "true"}


@pytest.fixture(scope="module")
def admission(dev_capture):
    return ([kubernetes_object(r) for r in dev_capture.of_type(VAP)],
            [kubernetes_object(r) for r in dev_capture.of_type(BINDING)])


@pytest.mark.parametrize("spec", [{}, {"type": "ClusterIP"}, {"clusterIP": "None"}])
def test_cluster_ip_services_are_admitted(admission, spec):
    assert admission_review(*admission, _service(**spec), TEAM_NS) is None


@pytest.mark.parametrize("spec, message", [
    ({"type": "LoadBalancer"}, "ClusterIP only, this one is type LoadBalancer"),
    ({"type": "NodePort"}, "type NodePort"),
    ({"type": "ExternalName", "externalName": "example.com"}, "type ExternalName"),
    ({"externalIPs": ["203.0.113.7"]}, "CVE-2020-8554"),
])
def test_exposed_services_are_rejected_in_team_namespaces(admission, spec, message):
    assert message in admission_review(*admission, _service(**spec), TEAM_NS)
    # Outside team namespaces (the platform's own charts) the policy does not apply.
    assert admission_review(*admission, _service(**spec), {"kubernetes.io/metadata.name": "monitoring"}) is None


def test_team_role_cannot_escape_its_namespace_or_queue(dev_capture):
    """Reviewed rule by rule (CIS GKE Benchmark v1.6.0 4.1.x): no wildcards (4.1.3), no Secrets (4.1.2), no
    bind/escalate/impersonate (4.1.7), no direct pod creation (pods come from Jobs, which Kueue manages),
    no exec/attach/port-forward, nothing that edits the namespace, its quota, its policies or its queues.
    A pipelines team (dev's team-d) may also submit Argo workflows, templates and CronWorkflows (each checked
    by a queue/priority admission policy), never ClusterWorkflowTemplates; its executor Role is tested in
    test_argo_install.py."""
    pipelines = {t.name for t in _platform("dev").teams if t.pipelines}
    for r in dev_capture.of_type(ROLE):
        role = kubernetes_object(r)
        if role["metadata"]["name"] != "batch-user":
            continue
        rules = role["rules"]
        granted = {(g, res, v) for rule in rules for g in rule["apiGroups"] for res in rule["resources"] for v in rule["verbs"]}
        assert not [x for x in granted if "*" in x]
        writes = {(g, res) for g, res, v in granted if v not in ("get", "list", "watch")}
        # A model server's Deployment creates pods, but in a team namespace Kueue's pod webhook (failurePolicy
        # Fail, components/kubernetes/controller_config.py) gates each one until its queue admits it.
        assert writes == {("batch", "jobs"), ("jobset.x-k8s.io", "jobsets"), ("", "configmaps"), ("", "services"),
                          ("apps", "deployments"), ("autoscaling", "horizontalpodautoscalers"),
                          ("policy", "poddisruptionbudgets")} | (
            {("argoproj.io", "workflows"), ("argoproj.io", "workflowtemplates"), ("argoproj.io", "cronworkflows")}
            if role["metadata"]["namespace"] in pipelines else set())
        resources = {res for _, res, _ in granted}
        assert not resources & {"secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts",
                                "serviceaccounts/token", "namespaces", "resourcequotas", "limitranges",
                                "networkpolicies", "roles", "rolebindings", "clusterqueues"}
        assert not {v for _, _, v in granted} & {"bind", "escalate", "impersonate"}
        assert ("kueue.x-k8s.io", "localqueues", "create") not in granted  # a LocalQueue names any ClusterQueue


def test_isolation_objects_are_valid_kubernetes(dev_capture):
    from components.kubernetes.manifest_validation import problems

    for r in dev_capture.of_type(NETPOL) + dev_capture.of_type(NAMESPACE):
        assert problems(kubernetes_object(r)) == []
    assert isolation.SERVICE_POLICY in {kubernetes_object(r)["metadata"]["name"] for r in dev_capture.of_type(VAP)}
    assert render.KUEUE_METRICS_PORT == 8443
