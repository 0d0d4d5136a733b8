"""Namespace isolation: Pod Security Admission levels, NetworkPolicies and the team Service policy.

Pure functions (the model in, manifests out), rendered with the rest of the tenancy in render.py.

* Pod Security Admission (Kubernetes "Pod Security Admission", "Pod Security Standards"; CIS GKE
  Benchmark 4.2.1): a namespace label `pod-security.kubernetes.io/enforce: <level>` makes the API
  server reject any pod that violates the level, whoever creates it (a Job's controller included).
  Team namespaces enforce `restricted`. The system namespaces get the level their charts need:
  kueue-system and jobset-system `restricted` (kubernetes-sigs/kueue v0.19.2 charts/kueue/values.yaml
  controllerManager.manager.podSecurityContext/containerSecurityContext: runAsNonRoot, seccomp
  RuntimeDefault, allowPrivilegeEscalation false, drop ALL; kubernetes-sigs/jobset v0.12.0
  charts/jobset/values.yaml controller.securityContext/podSecurityContext: the same), monitoring
  `privileged` (prometheus-community/helm-charts prometheus-node-exporter-4.56.1, the node-exporter
  of kube-prometheus-stack 88.5.3: values.yaml hostNetwork: true, hostPID: true, hostRootFsMount
  enabled, i.e. a hostPath of `/`). Every namespace also audits against `restricted`.
* NetworkPolicy (Kubernetes "Network Policies"; CIS GKE 4.3.2 "Ensure that all Namespaces have
  Network Policies defined"; enforced by GKE Dataplane V2, CIS GKE 4.3.1): a team namespace denies
  all ingress and egress, then allows exactly what a job needs (see team_network_policies).
* Services: a ValidatingAdmissionPolicy admits only ClusterIP Services without externalIPs in team
  namespaces (no LoadBalancer or NodePort from a team; externalIPs is CVE-2020-8554).
"""

from __future__ import annotations

import ipaddress
from functools import cache

from components.model import Platform
from components.model.schema import Team

PSA_PREFIX = "pod-security.kubernetes.io"
RESTRICTED, BASELINE, PRIVILEGED = "restricted", "baseline", "privileged"
TEAM_LEVEL = RESTRICTED
NETPOL_API = "networking.k8s.io/v1"
VAP_API = "admissionregistration.k8s.io/v1"
NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace

# GKE runs kube-dns in kube-system behind these pod labels; team pods resolve names through it.
DNS_PEER = {"namespaceSelector": {"matchLabels": {NAME_LABEL: "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
# The GKE metadata server (Workload Identity tokens): 169.254.169.252/32 port 988, and 169.254.169.254/32
# port 80 on GKE Dataplane V2 (this platform's datapath). GKE's own sentence for these was NOT found
# (docs/security.md says so). Google's GoogleCloudPlatform/anthos-security-blueprints
# restricting-traffic/kube-system/README.md (Calico datapath) states the mechanism: requests to
# 169.254.169.254:80 are redirected to the GKE metadata server on port 988 and "the network policy is
# applied after this traffic is redirected", so both the address a pod dials and the daemon's are allowed.
METADATA_SERVER = [("169.254.169.252/32", 988), ("169.254.169.254/32", 80)]
# Addresses that are never Google APIs: RFC 1918, shared (RFC 6598) and link-local space. Google APIs
# under Private Google Access with the default domains resolve to public addresses, and a
# NetworkPolicy cannot select a domain, so "Google APIs" is HTTPS to any public address.
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
HTTPS = 443
SERVICE_POLICY = "team-services-clusterip"


def api_server_service_ip(services_cidr: str) -> str:
    """The `kubernetes` Service's ClusterIP: the first address of the Service range (kubernetes/kubernetes
    pkg/controlplane/services.go ServiceIPRange: "Select the first valid IP from ServiceClusterIPRange to use
    as the GenericAPIServer service IP", GetIndexedIP(&serviceClusterIPRange, 1))."""
    return str(next(ipaddress.ip_network(services_cidr).hosts()))


def api_server_egress(network) -> list[dict]:
    """Egress to the API server on 443, by both addresses a pod's connection carries. A pod dials the
    `kubernetes` Service's ClusterIP; its backend is the control plane's private endpoint in masterCidr (443,
    as `kubectl get endpoints -n default kubernetes` lists it: GoogleCloudPlatform/anthos-security-blueprints
    restricting-traffic/kube-system/README.md allows `${APISERVER_IP}/32` port 443 from that listing).
    Whether policy sees the address before or after that translation is left to the datapath (Kubernetes
    "Network Policies", ipBlock: "it is not defined whether this happens before or after NetworkPolicy
    processing ... connections from pods to Service IPs that get rewritten to cluster-external IPs may or may
    not be subject to ipBlock-based policies"). Dataplane V2 is Cilium, which applies policy after the Service
    translation (cilium Documentation/security/policy/language.rst: "Layer 4 policies apply to ports after
    service port mapping has been applied"; CIDR rules apply where one side is "A network endpoint outside
    the cluster"), so the endpoint is what it matches; the ClusterIP /32 covers the other order at the cost
    of one address."""
    return [{"to": [{"ipBlock": {"cidr": f"{api_server_service_ip(network.services_cidr)}/32"}},
                    {"ipBlock": {"cidr": network.master_cidr}}],
             "ports": [{"protocol": "TCP", "port": HTTPS}]}]


def pod_security_labels(level: str) -> dict[str, str]:
    """Enforce `level`; audit against restricted everywhere (violations land in the audit log)."""
    return {f"{PSA_PREFIX}/enforce": level, f"{PSA_PREFIX}/enforce-version": "latest",
            f"{PSA_PREFIX}/audit": RESTRICTED, f"{PSA_PREFIX}/audit-version": "latest"}


def _policy(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": NETPOL_API, "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"podSelector": {}, **spec}}


def _namespace_peer(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {NAME_LABEL: name}}}


def _ports(*numbers: int, protocol: str = "TCP") -> list[dict]:
    return [{"protocol": protocol, "port": n} for n in numbers]


@cache
def _outside(networks: tuple[str, ...]) -> list[str]:
    """The ranges to exclude from 0.0.0.0/0, each once (a block inside another adds nothing); the same
    for every team of a platform, so computed once."""
    nets = sorted({ipaddress.ip_network(n) for n in networks if ipaddress.ip_network(n).version == 4},
                  key=lambda n: (n.prefixlen, n))
    kept: list[ipaddress.IPv4Network] = []
    for net in nets:
        if not any(net.subnet_of(k) for k in kept):
            kept.append(net)
    return [str(n) for n in sorted(kept)]


def team_network_policies(platform: Platform, team: Team, monitoring_namespace: str) -> list[dict]:
    """Default deny both ways, then exactly what a job needs.

    Ingress: its own namespace (torchrun rendezvous, NCCL, JobSet's headless Service) and Prometheus
    from the monitoring namespace. Egress: its own namespace, DNS (kube-dns), the GKE metadata
    server (Workload Identity), and HTTPS to public addresses (Google APIs: the team bucket through
    the Cloud Storage FUSE sidecar, which runs in the pod). Nothing reaches another team's pods or
    any private address (the VPC, the nodes, the control plane). Policies are additive (a flow is
    allowed if any policy selecting the pod allows it), so the default deny holds for everything else.
    """
    ns = team.name
    network = platform.network
    private = list(_outside((*PRIVATE_RANGES, network.subnet_cidr, network.pods_cidr, network.services_cidr,
                             network.master_cidr)))
    egress = [
        {"to": [{"podSelector": {}}]},
        {"to": [DNS_PEER], "ports": _ports(53, protocol="UDP") + _ports(53)},
        *({"to": [{"ipBlock": {"cidr": cidr}}], "ports": _ports(port)} for cidr, port in METADATA_SERVER),
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": private}}], "ports": _ports(HTTPS)},
    ]
    return [
        _policy("default-deny", ns, {"policyTypes": ["Ingress", "Egress"]}),
        _policy("allow-ingress-team-and-monitoring", ns, {
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}, _namespace_peer(monitoring_namespace)]}]}),
        _policy("allow-egress-job", ns, {"policyTypes": ["Egress"], "egress": egress}),
    ]


def system_network_policies(namespace: str, api_server_ports: list[int], monitoring_namespace: str,
                            metrics_ports: list[int] = ()) -> list[dict]:
    """Ingress of a system namespace: deny all but the ports the API server calls (webhooks, APIService)
    and, from the monitoring namespace, the metrics ports. The webhook ports name no source: the API
    server reaches pods from the control-plane range over VPC peering, but through the Konnectivity
    agents' pods where GKE uses them, and a wrong source would fail Kueue's fail-closed webhooks.
    Egress stays open: the controllers talk to the API server, whose address the cluster decides."""
    policies = [_policy("default-deny-ingress", namespace, {"policyTypes": ["Ingress"]})]
    if api_server_ports:
        policies.append(_policy("allow-api-server", namespace, {
            "policyTypes": ["Ingress"], "ingress": [{"ports": _ports(*api_server_ports)}]}))
    if metrics_ports:
        policies.append(_policy("allow-metrics-scrape", namespace, {
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_namespace_peer(monitoring_namespace)], "ports": _ports(*metrics_ports)}]}))
    return policies


def monitoring_network_policies(namespace: str) -> list[dict]:
    """Prometheus, Alertmanager and Grafana talk among themselves; nothing else connects in (Grafana is
    reached by `kubectl port-forward`, which enters through the kubelet, not the pod network)."""
    return [_policy("default-deny-ingress", namespace, {"policyTypes": ["Ingress"]}),
            _policy("allow-same-namespace", namespace, {"policyTypes": ["Ingress"],
                                                        "ingress": [{"from": [{"podSelector": {}}]}]})]


def service_type_policy() -> dict:
    return {
        "apiVersion": VAP_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": SERVICE_POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["services"],
            }]},
            "validations": [
                {
                    "expression": "!has(object.spec.type) || object.spec.type == 'ClusterIP'",
                    "reason": "Forbidden",
                    "messageExpression": "'Services in team namespaces are ClusterIP only, this one is type ' + "
                                         "object.spec.type + ': remove spec.type (reach it with kubectl port-forward, "
                                         "or ask the platform team for an internal load balancer)'",
                },
                {
                    "expression": "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
                    "reason": "Forbidden",
                    "messageExpression": "'spec.externalIPs is not allowed in team namespaces (it can capture "
                                         "other traffic, CVE-2020-8554): remove it'",
                },
            ],
        },
    }


def service_type_binding(namespace_labels: dict[str, str]) -> dict:
    return {
        "apiVersion": VAP_API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": SERVICE_POLICY},
        "spec": {"policyName": SERVICE_POLICY, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": dict(namespace_labels)}}},
    }
