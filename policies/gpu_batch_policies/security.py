"""Security policies: private nodes, authorized networks, Workload Identity, node identities,
basic IAM roles, shielded nodes, plaintext credentials and public Grafana."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from pulumi_policy import ResourceValidationArgs

from .building import resource_policy, schema
from .gke import HELM_TYPES, TYPE_CLUSTER, TYPE_NODE_POOL, is_default_compute_account
from .values import UNKNOWN, cidr_network, dotted, get, items, mapping, walk

# ---------------------------------------------------------------------------------------------------


def _check_private_nodes(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    if args.resource_type == TYPE_CLUSTER:
        private = get(props, "privateClusterConfig", "enablePrivateNodes")
        if private is not True and private is not UNKNOWN:
            yield (f"cluster {props.get('name', args.name)!r}: privateClusterConfig.enablePrivateNodes is "
                   f"{'unset' if private is None else private}, so every node gets a public IP address")
    elif get(props, "networkConfig", "enablePrivateNodes") is False:
        yield (f"node pool {props.get('name', args.name)!r} sets networkConfig.enablePrivateNodes: false and "
               "overrides the cluster's private nodes")


PRIVATE_NODES = resource_policy(
    "gke-private-nodes",
    "GKE nodes must have no public IP address. A GPU node with a public IP is reachable from the internet "
    "and bypasses the VPC's egress controls. Fix: set privateClusterConfig.enablePrivateNodes: true on the "
    "cluster (nodes reach the internet through Cloud NAT, Google APIs through Private Google Access) and "
    "never set networkConfig.enablePrivateNodes: false on a node pool.",
    (TYPE_CLUSTER, TYPE_NODE_POOL),
    _check_private_nodes,
)

# ---------------------------------------------------------------------------------------------------


def _check_authorized_networks(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    name = props.get("name", args.name)
    man = props.get("masterAuthorizedNetworksConfig")
    if man is UNKNOWN:
        return
    if not isinstance(man, dict):
        yield (f"cluster {name!r} has no masterAuthorizedNetworksConfig: its control plane accepts "
               "connections from any IP address")
        return
    min_prefix = int(config.get("minPrefixLength", 8))
    for i, block in enumerate(items(man, "cidrBlocks")):
        cidr = get(block, "cidrBlock")
        if cidr is UNKNOWN or cidr is None:
            continue
        network = cidr_network(cidr)
        if network is None:
            yield f"cluster {name!r}: cidrBlocks[{i}] {cidr!r} is not a CIDR block"
        elif (network.version == 4 and network.prefixlen < min_prefix) or network.prefixlen == 0:
            yield (f"cluster {name!r}: authorized network {cidr} (cidrBlocks[{i}]) is wider than "
                   f"/{min_prefix}: it opens the control plane to {network.num_addresses:,} addresses")
    if man.get("gcpPublicCidrsAccessEnabled") is True:
        yield (f"cluster {name!r}: gcpPublicCidrsAccessEnabled lets every Google Cloud public IP (any "
               "customer's VM) reach the control plane")


MASTER_AUTHORIZED_NETWORKS = resource_policy(
    "gke-master-authorized-networks",
    "The GKE control plane must only accept connections from listed networks. Without master authorized "
    "networks (or with 0.0.0.0/0, or gcpPublicCidrsAccessEnabled) anyone holding a leaked credential can "
    "reach the API server from anywhere. Fix: set masterAuthorizedNetworksConfig.cidrBlocks to your VPC "
    "and admin networks (no block wider than minPrefixLength) and leave gcpPublicCidrsAccessEnabled false.",
    (TYPE_CLUSTER,),
    _check_authorized_networks,
    config_schema=schema(minPrefixLength={
        "type": "integer", "minimum": 0, "maximum": 32, "default": 8,
        "description": "Smallest IPv4 prefix length an authorized network may have (8 allows at most a /8).",
    }),
)

# ---------------------------------------------------------------------------------------------------


def _check_workload_identity(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    name = props.get("name", args.name)
    if args.resource_type == TYPE_CLUSTER:
        pool = get(props, "workloadIdentityConfig", "workloadPool")
        if props.get("enableAutopilot") is not True and pool is not UNKNOWN and not (isinstance(pool, str) and pool):
            yield (f"cluster {name!r} has no workloadIdentityConfig.workloadPool: pods would use the node's "
                   "service account (every pod on a node gets the same Google identity)")
    node_configs = [("nodeConfig", props.get("nodeConfig"))]
    node_configs += [(f"nodePools[{i}].nodeConfig", get(p, "nodeConfig")) for i, p in enumerate(items(props, "nodePools"))]
    for path, node_config in node_configs:
        mode = get(node_config, "workloadMetadataConfig", "mode")
        if mode == "GCE_METADATA":
            kind = "cluster" if args.resource_type == TYPE_CLUSTER else "node pool"
            yield (f"{kind} {name!r}: {path}.workloadMetadataConfig.mode is GCE_METADATA, which exposes the "
                   "node's service account and metadata to every pod")


WORKLOAD_IDENTITY = resource_policy(
    "gke-workload-identity",
    "Workload Identity must be on: pods get Google credentials from their Kubernetes service account "
    "(one Google service account per team), never from the node. Without it every pod on a GPU node acts as "
    "the node's identity and can read other teams' data. Fix: set workloadIdentityConfig.workloadPool to "
    "PROJECT.svc.id.goog on the cluster and workloadMetadataConfig.mode: GKE_METADATA (never GCE_METADATA) on "
    "node pools.",
    (TYPE_CLUSTER, TYPE_NODE_POOL),
    _check_workload_identity,
)

# ---------------------------------------------------------------------------------------------------


def _describe_account(account: Any) -> str:
    return "unset (GKE then uses the Compute Engine default service account)" if not account or account == "default" \
        else f"the Compute Engine default service account {account}"


def _check_default_sa(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    name = props.get("name", args.name)
    if args.resource_type == TYPE_NODE_POOL:
        account = get(props, "nodeConfig", "serviceAccount")
        if is_default_compute_account(account):
            yield f"node pool {name!r}: nodeConfig.serviceAccount is {_describe_account(account)}"
        return
    if props.get("enableAutopilot") is not True:
        inline = props.get("nodePools")
        if isinstance(inline, list) and inline:
            for i, pool in enumerate(inline):
                account = get(pool, "nodeConfig", "serviceAccount")
                if is_default_compute_account(account):
                    yield f"cluster {name!r}: nodePools[{i}].nodeConfig.serviceAccount is {_describe_account(account)}"
        else:
            account = get(props, "nodeConfig", "serviceAccount")
            if is_default_compute_account(account):
                yield (f"cluster {name!r}: nodeConfig.serviceAccount (the default node pool's, even if it is "
                       f"removed after creation) is {_describe_account(account)}")
    if get(props, "clusterAutoscaling", "enabled") is True or props.get("enableAutopilot") is True:
        account = get(props, "clusterAutoscaling", "autoProvisioningDefaults", "serviceAccount")
        if is_default_compute_account(account):
            yield (f"cluster {name!r}: clusterAutoscaling.autoProvisioningDefaults.serviceAccount (the identity "
                   f"of every auto-provisioned node pool) is {_describe_account(account)}")


NO_DEFAULT_COMPUTE_SA = resource_policy(
    "no-default-compute-service-account",
    "No node pool and no auto-provisioned (NAP) node may run as the Compute Engine default service account "
    "(PROJECT_NUMBER-compute@developer.gserviceaccount.com, which is what an unset serviceAccount means): it "
    "usually holds roles/editor on the project, so anything that escapes onto a node owns the project. Fix: "
    "create a dedicated node service account with only the GKE node roles (logging, monitoring, "
    "artifact registry reader) and set it in nodeConfig.serviceAccount of the cluster and every node pool "
    "and in clusterAutoscaling.autoProvisioningDefaults.serviceAccount.",
    (TYPE_CLUSTER, TYPE_NODE_POOL),
    _check_default_sa,
)

# ---------------------------------------------------------------------------------------------------

_IAM_TYPE = re.compile(r"^gcp:[^:]+:\w*IAM(Member|Binding|Policy)$")


def _check_primitive_roles(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    forbidden = set(config.get("forbiddenRoles") or [])
    grants = []
    if isinstance(props.get("role"), str):
        members = props.get("members") if isinstance(props.get("members"), list) else [props.get("member")]
        grants.append((props["role"], members))
    policy_data = props.get("policyData")
    if isinstance(policy_data, str):
        try:
            bindings = items(json.loads(policy_data), "bindings")
        except ValueError:
            bindings = []
        grants += [(b.get("role"), items(b, "members")) for b in bindings if isinstance(b, dict)]
    for role, members in grants:
        if role in forbidden:
            who = ", ".join(str(m) for m in members if m is not None and m is not UNKNOWN) or "a computed member"
            yield f"{args.resource_type.rsplit(':', 1)[-1]} {args.name!r} grants {role} to {who}"


NO_PRIMITIVE_IAM_ROLES = resource_policy(
    "no-primitive-iam-roles",
    "No IAM binding may grant a basic role (roles/owner, roles/editor): they grant nearly every permission "
    "on the project, bucket or service account, so one compromised workload or member controls everything. "
    "Fix: grant the narrow predefined role the member needs (e.g. roles/storage.objectUser on one bucket, "
    "roles/container.clusterViewer, roles/logging.logWriter).",
    lambda t: bool(_IAM_TYPE.match(t)),
    _check_primitive_roles,
    config_schema=schema(forbiddenRoles={
        "type": "array", "items": {"type": "string"}, "default": ["roles/owner", "roles/editor"],
        "description": "Roles no IAMMember/IAMBinding/IAMPolicy may grant.",
    }),
)

# ---------------------------------------------------------------------------------------------------


def _shielded_issues(where: str, node_config: Any, require_secure_boot: bool) -> Iterator[str]:
    shielded = get(node_config, "shieldedInstanceConfig", default={})
    if shielded is UNKNOWN:
        return
    if get(shielded, "enableIntegrityMonitoring") is False:
        yield f"{where}: shieldedInstanceConfig.enableIntegrityMonitoring is false"
    boot = get(shielded, "enableSecureBoot")
    if require_secure_boot and boot is not True and boot is not UNKNOWN:
        yield f"{where}: shieldedInstanceConfig.enableSecureBoot is {'unset (off by default)' if boot is None else boot}"


def _check_shielded(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    name = props.get("name", args.name)
    secure_boot = bool(config.get("requireSecureBoot", True))
    if args.resource_type == TYPE_NODE_POOL:
        yield from _shielded_issues(f"node pool {name!r}", props.get("nodeConfig"), secure_boot)
        return
    if props.get("enableShieldedNodes") is False:
        yield f"cluster {name!r}: enableShieldedNodes is false"
    if props.get("enableAutopilot") is True:
        return
    if props.get("removeDefaultNodePool") is not True and not props.get("nodePools"):
        yield from _shielded_issues(f"cluster {name!r} default node pool", props.get("nodeConfig"), secure_boot)
    for i, pool in enumerate(items(props, "nodePools")):
        yield from _shielded_issues(f"cluster {name!r} nodePools[{i}]", get(pool, "nodeConfig"), secure_boot)
    if get(props, "clusterAutoscaling", "enabled") is True:
        yield from _shielded_issues(
            f"cluster {name!r} clusterAutoscaling.autoProvisioningDefaults",
            get(props, "clusterAutoscaling", "autoProvisioningDefaults"), secure_boot)


SHIELDED_NODES = resource_policy(
    "gke-shielded-nodes",
    "Nodes must be Shielded GKE Nodes with secure boot and integrity monitoring: they prove their boot "
    "chain to the control plane, so a tampered or impersonating node (e.g. a bootkit on a long-lived GPU "
    "node) cannot join and receive workload secrets. Fix: keep enableShieldedNodes: true on the cluster and "
    "set shieldedInstanceConfig {enableSecureBoot: true, enableIntegrityMonitoring: true} on every node pool "
    "and in the NAP autoProvisioningDefaults (GKE-managed GPU drivers are signed, so secure boot works with GPUs).",
    (TYPE_CLUSTER, TYPE_NODE_POOL),
    _check_shielded,
    config_schema=schema(requireSecureBoot={
        "type": "boolean", "default": True,
        "description": "Also require enableSecureBoot (GKE's default is off).",
    }),
)

# ---------------------------------------------------------------------------------------------------

DEFAULT_CREDENTIAL_SUFFIXES = [
    "password", "passwd", "token", "apikey", "secretkey", "clientsecret", "accesskey", "privatekey",
]


def _credential_key(key: Any, suffixes: list[str]) -> bool:
    if not isinstance(key, str):
        return False
    normalized = re.sub(r"[-_.\s]", "", key.lower())
    return any(normalized.endswith(s) for s in suffixes)


def _literal(value: Any) -> bool:
    # References such as "${GF_PASSWORD}" or "$__file{/etc/secret}" are not the credential itself.
    return isinstance(value, str) and value.strip() != "" and not value.strip().startswith("$")


def _from_chart(args: ResourceValidationArgs) -> bool:
    """Is the resource an object a helm.sh/v4 Chart rendered (its parent URN's own type is the Chart)?"""
    parts = ((args.opts.parent if args.opts else None) or "").split("::")
    return len(parts) >= 4 and parts[-2].split("$")[-1] == "kubernetes:helm.sh/v4:Chart"


def _check_plaintext_credentials(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    suffixes = [s.lower() for s in config.get("credentialKeySuffixes") or []]
    kind = args.resource_type
    if kind == "kubernetes:core/v1:Secret":
        secret_outputs = set(args.opts.additional_secret_outputs or []) if args.opts else set()
        if _from_chart(args):
            # pulumi-kubernetes yaml/v2 Register (what helm.v4.Chart uses for its objects) wraps a Secret's
            # data and stringData with pulumi.ToSecret; the policy SDK unwraps secrets, so it cannot be seen here.
            return
        for field_name in ("data", "stringData"):
            values = props.get(field_name)
            # A Secret whose values are all empty holds no credential (e.g. a controller's certificate
            # placeholder that the controller fills in at run time).
            if isinstance(values, dict) and not any(v not in ("", None) for v in values.values()):
                continue
            if values and field_name not in secret_outputs:
                keys = ", ".join(sorted(props[field_name])) if isinstance(props[field_name], dict) else "?"
                yield (f"Secret {args.name!r}: {field_name} ({keys}) is not marked secret, so it is stored "
                       "in plaintext in the Pulumi state")
    elif kind == "kubernetes:core/v1:ConfigMap":
        for key, value in mapping(props, "data").items():
            if _credential_key(key, suffixes) and _literal(value):
                yield f"ConfigMap {args.name!r}: data.{key} holds a credential in a ConfigMap (never secret)"
    elif kind in HELM_TYPES:
        for path, value in walk(mapping(props, "values")):
            if path and _credential_key(path[-1], suffixes) and _literal(value):
                yield (f"chart {args.name!r}: values.{dotted(path)} is a plaintext credential in the chart "
                       "values (stored in the Pulumi state and in the Helm release)")


NO_PLAINTEXT_CREDENTIALS = resource_policy(
    "no-plaintext-credentials",
    "Credentials must not sit in plain configuration: a Helm value such as Grafana's adminPassword, a "
    "ConfigMap entry or an unmarked Secret is readable by anyone with access to the Pulumi state, the Helm "
    "release or the namespace. Fix: keep credentials in Secret Manager or a Kubernetes Secret and point the "
    "chart at it (e.g. Grafana admin.existingSecret), generate them with a secret Pulumi output "
    "(`pulumi config set --secret`, pulumi.Output.secret) and mark Secret data with additionalSecretOutputs. "
    "(The policy SDK unwraps secrets before policies see them, so a Helm value is flagged even when it "
    "came from a config secret: pass such values through an existing Secret instead.)",
    ("kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap") + HELM_TYPES,
    _check_plaintext_credentials,
    config_schema=schema(credentialKeySuffixes={
        "type": "array", "items": {"type": "string"}, "default": DEFAULT_CREDENTIAL_SUFFIXES,
        "description": "A Helm value or ConfigMap key whose name (lower-cased, without - _ .) ends with one of "
                       "these holds a credential.",
    }),
)

# ---------------------------------------------------------------------------------------------------

_INTERNAL_LB = {
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
}
_EXPOSED_TYPES = ("LoadBalancer", "NodePort")


def _internal(annotations: Any) -> bool:
    return isinstance(annotations, dict) and any(
        str(annotations.get(k, "")).lower() == v for k, v in _INTERNAL_LB.items())


def _mentions(pattern: re.Pattern, *values: Any) -> bool:
    for value in values:
        if isinstance(value, str) and pattern.search(value):
            return True
        if isinstance(value, dict) and any(isinstance(v, str) and pattern.search(v) for v in value.values()):
            return True
    return False


def _internal_ingress(annotations: Any, class_name: Any) -> bool:
    cls = class_name or get(annotations, "kubernetes.io/ingress.class")
    return cls == "gce-internal"


def _ingress_backends(spec: Any) -> Iterator[Any]:
    yield get(spec, "defaultBackend", "service", "name")
    for rule in items(spec, "rules"):
        for path in items(rule, "http", "paths"):
            yield get(path, "backend", "service", "name")


def _check_public_grafana(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    pattern = re.compile(config.get("appPattern") or "grafana", re.IGNORECASE)
    kind = args.resource_type
    meta = props.get("metadata") if isinstance(props.get("metadata"), dict) else {}
    if kind == "kubernetes:core/v1:Service":
        spec = props.get("spec") if isinstance(props.get("spec"), dict) else {}
        if spec.get("type") in _EXPOSED_TYPES and not _internal(meta.get("annotations")) and _mentions(
                pattern, meta.get("name"), args.name, meta.get("labels"), spec.get("selector")):
            yield (f"Service {meta.get('name', args.name)!r} exposes Grafana as type {spec['type']} "
                   "without an internal load balancer")
    elif kind == "kubernetes:networking.k8s.io/v1:Ingress":
        spec = props.get("spec") if isinstance(props.get("spec"), dict) else {}
        if any(_mentions(pattern, b) for b in _ingress_backends(spec)) and not _internal_ingress(
                meta.get("annotations"), spec.get("ingressClassName")):
            yield f"Ingress {meta.get('name', args.name)!r} publishes Grafana through an external load balancer"
    elif kind in HELM_TYPES:
        chart_is_app = _mentions(pattern, props.get("chart"), props.get("name"), args.name)
        for path, node in walk(mapping(props, "values")):
            if not isinstance(node, dict) or not (chart_is_app or any(_mentions(pattern, str(p)) for p in path)):
                continue
            service = node.get("service")
            if isinstance(service, dict) and service.get("type") in _EXPOSED_TYPES and not _internal(service.get("annotations")):
                yield (f"chart {args.name!r}: values.{dotted(path + ('service', 'type'))} is {service['type']} "
                       "without an internal load-balancer annotation")
            ingress = node.get("ingress")
            if isinstance(ingress, dict) and ingress.get("enabled") is True and not _internal_ingress(
                    ingress.get("annotations"), ingress.get("ingressClassName")):
                yield f"chart {args.name!r}: values.{dotted(path + ('ingress', 'enabled'))} publishes Grafana externally"


NO_PUBLIC_GRAFANA = resource_policy(
    "no-public-grafana",
    "Grafana must not be exposed on a public IP: the dashboards show every team's jobs, queues and "
    "capacity and Grafana is a frequent target of credential stuffing. Fix: keep its Service ClusterIP and "
    "reach it with `kubectl port-forward`, through an internal load balancer (annotation "
    "networking.gke.io/load-balancer-type: Internal) or an IAP-protected internal Ingress (class gce-internal).",
    ("kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress") + HELM_TYPES,
    _check_public_grafana,
    config_schema=schema(appPattern={
        "type": "string", "default": "grafana",
        "description": "Regular expression (case-insensitive) that identifies the Grafana Service, Ingress "
                       "backend, chart or values subtree.",
    }),
)

POLICIES = [
    PRIVATE_NODES,
    MASTER_AUTHORIZED_NETWORKS,
    WORKLOAD_IDENTITY,
    NO_DEFAULT_COMPUTE_SA,
    NO_PRIMITIVE_IAM_ROLES,
    SHIELDED_NODES,
    NO_PLAINTEXT_CREDENTIALS,
    NO_PUBLIC_GRAFANA,
]
