"""Access policies (GCP): public or fine-grained buckets, legacy cluster authentication, Workload
Identity bindings across teams, project-wide impersonation/storage roles for team identities, and
protection a production stack must keep."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Optional

from pulumi_policy import ResourceValidationArgs

from .building import resource_policy, schema, stack_policy
from .gke import TYPE_CLUSTER, TYPE_NODE_POOL
from .stack import StackView
from .values import UNKNOWN, get, items, mapping

T_BUCKET = "gcp:storage/bucket:Bucket"
T_SUBNET = "gcp:compute/subnetwork:Subnetwork"
T_ACCOUNT = "gcp:serviceaccount/account:Account"
T_KSA = "kubernetes:core/v1:ServiceAccount"
WI_ANNOTATION = "iam.gke.io/gcp-service-account"
WI_ROLE = "roles/iam.workloadIdentityUser"
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
_BUCKET_IAM = re.compile(r"^gcp:storage/bucket(IAMMember|IAMBinding|IAMPolicy|AccessControl):")
_PROJECT_IAM = re.compile(r"^gcp:projects/iAM(Member|Binding|Policy):")
_SA_IAM = re.compile(r"^gcp:serviceaccount/iAM(Member|Binding|Policy):")
_WI_MEMBER = re.compile(r"^serviceAccount:[^\[]+\[(?P<ns>[^/\]]+)/(?P<ksa>[^\]]+)\]$")
PRODUCTION_LABEL = ("environment", "production")


def grants(props: dict) -> list[tuple[Any, list]]:
    """(role, members) of an IAMMember, IAMBinding or IAMPolicy (its policyData JSON)."""
    found = []
    if isinstance(props.get("role"), str):
        members = props.get("members") if isinstance(props.get("members"), list) else [props.get("member")]
        found.append((props["role"], members))
    if isinstance(props.get("policyData"), str):
        try:
            bindings = items(json.loads(props["policyData"]), "bindings")
        except ValueError:
            bindings = []
        found += [(get(b, "role"), items(b, "members")) for b in bindings]
    return found

# ---------------------------------------------------------------------------------------------------


def _check_bucket(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    if args.resource_type == T_BUCKET:
        name = props.get("name", args.name)
        ubla = props.get("uniformBucketLevelAccess")
        if ubla is not True and ubla is not UNKNOWN:
            yield (f"bucket {name!r}: uniformBucketLevelAccess is {'unset (off)' if ubla is None else ubla}, so "
                   "object ACLs can grant access that the bucket's IAM does not show")
        return
    entities = [props.get("entity")] + [m for _, members in grants(props) for m in members]
    for member in entities:
        if isinstance(member, str) and any(p.lower() in member.lower() for p in PUBLIC_MEMBERS):
            yield f"{args.resource_type.rsplit(':', 1)[-1]} {args.name!r} grants access to {member}: the bucket is public"


NO_PUBLIC_BUCKETS = resource_policy(
    "no-public-buckets",
    "Team buckets hold checkpoints and data: none may grant access to allUsers or allAuthenticatedUsers "
    "(anyone, or any Google account), and every bucket must use uniform bucket-level access so IAM is the "
    "only way in (no per-object ACLs). Fix: grant roles/storage.objectUser to the team's service account "
    "only, and set uniformBucketLevelAccess: true (with publicAccessPrevention: enforced).",
    lambda t: t == T_BUCKET or bool(_BUCKET_IAM.match(t)),
    _check_bucket,
)

# ---------------------------------------------------------------------------------------------------


def _check_legacy_auth(props: dict, args: ResourceValidationArgs, config: dict) -> Iterator[str]:
    name = props.get("name", args.name)
    if props.get("enableLegacyAbac") is True:
        yield f"cluster {name!r}: enableLegacyAbac is true (legacy ABAC bypasses RBAC)"
    if get(props, "masterAuth", "clientCertificateConfig", "issueClientCertificate") is True:
        yield f"cluster {name!r}: masterAuth.clientCertificateConfig.issueClientCertificate is true"


NO_LEGACY_CLUSTER_AUTH = resource_policy(
    "gke-no-legacy-auth",
    "Legacy ABAC (CIS GKE Benchmark 5.8.3) and client certificates (CIS GKE 2.1.1) must be off: ABAC "
    "authorizes requests that RBAC would deny, and a client certificate is a non-revocable cluster-admin "
    "credential. Fix: leave enableLegacyAbac unset or false and masterAuth.clientCertificateConfig."
    "issueClientCertificate false; users authenticate with their Google identity.",
    (TYPE_CLUSTER,),
    _check_legacy_auth,
)

# ---------------------------------------------------------------------------------------------------


def _account_of(stack: StackView, resource: Any, value: Any) -> Optional[str]:
    """The e-mail of the service account a grant is about: its own string, else the Account it depends on."""
    if isinstance(value, str):
        match = re.search(r"([\w.-]+@[\w.-]+\.iam\.gserviceaccount\.com)", value)
        if match:
            return match.group(1)
    for urn in stack.dependencies(resource):
        dep = stack.by_urn.get(urn)
        if dep is not None and dep.resource_type == T_ACCOUNT:
            email = stack.props[urn].get("email")
            if isinstance(email, str):
                return email
            account_id = stack.props[urn].get("accountId")
            return f"{account_id}@" if isinstance(account_id, str) else None
    return None


def _same(a: Optional[str], b: Optional[str]) -> bool:
    return bool(a and b) and (a == b or (a.endswith("@") and b.startswith(a)) or (b.endswith("@") and a.startswith(b)))


def _team_accounts(stack: StackView) -> dict[str, str]:
    """GSA e-mail -> the namespace whose KSA is annotated with it (the team that owns it)."""
    owners = {}
    for r in stack.of_type(T_KSA):
        props = stack.props[r.urn]
        email, ns = mapping(props, "metadata", "annotations").get(WI_ANNOTATION), get(props, "metadata", "namespace")
        if isinstance(email, str) and isinstance(ns, str):
            owners[email] = ns
    return owners


def _check_workload_identity_owner(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    owners = _team_accounts(stack)
    for r in stack.resources:
        if not _SA_IAM.match(r.resource_type):
            continue
        props = stack.props[r.urn]
        account = _account_of(stack, r, props.get("serviceAccountId"))
        owner = next((ns for email, ns in owners.items() if _same(account, email)), None)
        if owner is None:
            continue
        for role, members in grants(props):
            if role != WI_ROLE:
                continue
            for member in members:
                match = _WI_MEMBER.match(member) if isinstance(member, str) else None
                if match and match.group("ns") != owner:
                    yield (f"{r.name!r} lets KSA {match.group('ns')}/{match.group('ksa')} act as {account}, the "
                           f"service account of namespace {owner!r}: another team's jobs get that team's data", r.urn)


WORKLOAD_IDENTITY_PER_TEAM = stack_policy(
    "workload-identity-own-team-only",
    "A team's Google service account may be impersonated through Workload Identity only by that team's "
    "Kubernetes service account (CIS GKE Benchmark 5.2.2, one identity per workload). A binding of "
    "roles/iam.workloadIdentityUser for another namespace's KSA gives that team every bucket and API the "
    "first team can reach. Fix: bind each team GSA to serviceAccount:PROJECT.svc.id.goog[<team>/<team>-ksa] only.",
    _check_workload_identity_owner,
)

# ---------------------------------------------------------------------------------------------------

DEFAULT_FORBIDDEN_TEAM_ROLES = ["roles/storage.admin", "roles/iam.serviceAccountTokenCreator",
                                "roles/iam.serviceAccountUser"]


def _check_team_project_roles(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    forbidden = set(config.get("forbiddenRoles") or [])
    owners = _team_accounts(stack)
    for r in stack.resources:
        if not _PROJECT_IAM.match(r.resource_type):
            continue
        props = stack.props[r.urn]
        for role, members in grants(props):
            if not isinstance(role, str) or role not in forbidden:
                continue
            for member in members:
                account = _account_of(stack, r, member)
                owner = next((ns for email, ns in owners.items() if _same(account, email)), None)
                if owner is not None:
                    yield (f"{r.name!r} grants {role} on the whole project to {account}, team {owner!r}'s "
                           "service account", r.urn)


NO_PROJECT_WIDE_TEAM_ROLES = stack_policy(
    "no-project-wide-team-roles",
    "A team identity must not hold project-wide roles/storage.admin (every team's bucket), "
    "roles/iam.serviceAccountTokenCreator or roles/iam.serviceAccountUser (act as any service account, "
    "the node's and the other teams' included). Fix: grant object access on the team's own bucket "
    "(roles/storage.objectUser on the bucket) and nothing that impersonates.",
    _check_team_project_roles,
    config_schema=schema(forbiddenRoles={
        "type": "array", "items": {"type": "string"}, "default": DEFAULT_FORBIDDEN_TEAM_ROLES,
        "description": "Project roles a team's Workload Identity service account may not hold.",
    }),
)

# ---------------------------------------------------------------------------------------------------


def _production(stack: StackView) -> bool:
    return any(mapping(c.props, "resourceLabels").get(PRODUCTION_LABEL[0]) == PRODUCTION_LABEL[1] for c in stack.clusters)


def _check_production_protection(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    if not _production(stack):
        return
    for r in stack.of_type(TYPE_CLUSTER):
        props = stack.props[r.urn]
        if props.get("deletionProtection") is False:
            yield f"cluster {props.get('name', r.name)!r}: deletionProtection is false in a production stack", r.urn
        if r.opts is not None and not r.opts.protect:
            yield f"cluster {props.get('name', r.name)!r} is not Pulumi-protected (protect) in a production stack", r.urn
        name = props.get("name", r.name)
        if get(props, "databaseEncryption", "state") not in ("ENCRYPTED", UNKNOWN):
            yield f"cluster {name!r}: Secrets are not encrypted with a Cloud KMS key (databaseEncryption) in a production stack", r.urn
        if get(props, "binaryAuthorization", "evaluationMode") in (None, "DISABLED"):
            yield f"cluster {name!r}: Binary Authorization is off in a production stack", r.urn
        if props.get("enableIntranodeVisibility") is not True and props.get("enableIntranodeVisibility") is not UNKNOWN:
            yield f"cluster {name!r}: intranode visibility is off in a production stack", r.urn
        if get(props, "clusterAutoscaling", "enabled") is True and \
                get(props, "clusterAutoscaling", "autoProvisioningDefaults", "bootDiskKmsKey") is None:
            yield (f"cluster {name!r}: nodes Node Auto Provisioning creates boot from disks without a Cloud KMS key "
                   "(autoProvisioningDefaults.bootDiskKmsKey) in a production stack"), r.urn
    for r in stack.of_type(TYPE_NODE_POOL):
        if get(stack.props[r.urn], "nodeConfig", "bootDiskKmsKey") is None:
            yield (f"node pool {stack.props[r.urn].get('name', r.name)!r}: boot disks without a Cloud KMS key "
                   "(nodeConfig.bootDiskKmsKey) in a production stack"), r.urn
    for r in stack.of_type(T_SUBNET):
        if stack.props[r.urn].get("logConfig") is None:
            yield f"subnetwork {stack.props[r.urn].get('name', r.name)!r}: VPC Flow Logs are off in a production stack", r.urn
    for r in stack.of_type(T_BUCKET):
        props = stack.props[r.urn]
        name = props.get("name", r.name)
        if r.opts is not None and not r.opts.protect:
            yield f"bucket {name!r} is not Pulumi-protected (protect) in a production stack", r.urn
        if get(props, "versioning", "enabled") is False:
            yield f"bucket {name!r}: versioning is off in a production stack (an overwritten checkpoint is lost)", r.urn
        seconds = get(props, "softDeletePolicy", "retentionDurationSeconds")
        if isinstance(seconds, (int, float)) and seconds == 0:
            yield f"bucket {name!r}: soft delete is off in a production stack (a deleted object is gone)", r.urn


PRODUCTION_PROTECTION = stack_policy(
    "production-keeps-protection",
    "A stack whose cluster carries the label environment: production must keep its protection: GKE "
    "deletionProtection and Pulumi `protect` on the cluster, and on every team bucket `protect`, "
    "versioning and soft delete; and its hardening: Secrets encrypted with Cloud KMS (CIS GKE 5.3.1), node "
    "boot disks too, every pool's and Node Auto Provisioning's (5.9.2), Binary Authorization (5.10.4), "
    "intranode visibility and VPC Flow Logs (5.6.1). Turning protection off "
    "is how a stray `pulumi destroy` or a replacement deletes the teams' checkpoints and running work. Fix: "
    "keep cluster.deletionProtection, the dataProtection and the security settings on in the production "
    "stack (turn them off only in a development stack).",
    _check_production_protection,
)

POLICIES = [NO_PUBLIC_BUCKETS, NO_LEGACY_CLUSTER_AUTH, WORKLOAD_IDENTITY_PER_TEAM, NO_PROJECT_WIDE_TEAM_ROLES,
            PRODUCTION_PROTECTION]
