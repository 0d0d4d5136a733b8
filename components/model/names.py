"""Every GCP name the program derives, in one place, and the check that each fits its service's rules.

components/gcp builds its resources with these functions, so the check reads the exact final strings.
Rules and their sources:
- GKE cluster: 1-40 characters, lowercase letters, digits, '-', starting with a letter, not ending with '-'
  (GKE API `projects.locations.clusters`: Cluster.name).
- GKE node pool: the same rule, 1-40 characters (GKE API NodePool.name).
- Compute network, subnetwork, router, NAT, reservation: RFC 1035, 1-63 characters
  (Compute Engine "Naming resources": `[a-z]([-a-z0-9]*[a-z0-9])?`).
- Service account ID: 6-30 characters, `[a-z]([-a-z0-9]*[a-z0-9])` (IAM "Create service accounts").
- Cloud Storage bucket: 3-63 characters, lowercase letters, digits, '-', '_', '.', starting and ending with a
  letter or digit; must not start with "goog" or contain "google" ("Bucket naming guidelines").
- Project ID: must not contain "google" (Resource Manager "Creating and managing projects": restricted strings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from .errors import Issue
from .schema import GpuPool, Platform, Team


def cluster_name(p: Platform) -> str:
    return p.name_prefix


def key_ring_name(p: Platform) -> str:
    return f"{cluster_name(p)}-gke"


DISK_KEY = "boot-disks"


def disk_key_id(p: Platform) -> str:
    """The stack's disk key by its Cloud KMS resource identifier, "projects/{PROJECT_ID}/locations/{REGION}/
    keyRings/{KEY_RING_NAME}/cryptoKeys/{KEY_NAME}" (Google Cloud API reference, e.g. EncryptionConfig.kmsKey;
    pulumi-gcp's kms.CryptoKey id is that identifier, as its getCryptoKeyVersions reference states), known before
    the key exists: the StorageClass names it (components/kubernetes/storage.py)."""
    return f"projects/{p.project}/locations/{p.region}/keyRings/{key_ring_name(p)}/cryptoKeys/{DISK_KEY}"


def network_name(p: Platform) -> str:
    return p.name_prefix


def subnet_name(p: Platform) -> str:
    return p.name_prefix


def router_name(p: Platform) -> str:
    return f"{p.name_prefix}-router"


def nat_name(p: Platform) -> str:
    return f"{p.name_prefix}-nat"


def node_account_id(p: Platform) -> str:
    return f"{p.name_prefix}-nodes"


def team_account_id(p: Platform, team: Team) -> str:
    return f"{p.name_prefix}-{team.name}"


KSA_SUFFIX = "-ksa"


def ksa_name(team: Team) -> str:
    """The team's Kubernetes service account (in its namespace, named after it), bound to its GSA through
    Workload Identity."""
    return f"{team.name}{KSA_SUFFIX}"


def team_bucket_name(p: Platform, team: Team) -> str:
    """The team's checkpoint bucket; its workloads mount it through the Cloud Storage FUSE CSI driver."""
    return f"{p.project}-{p.name_prefix}-{team.name}"


# Node pools and reservations carry no explicit name: Pulumi auto-names them "<logical name>-<7 random
# characters>" and picks a new one on replacement, so the new pool is created before the old one goes
# (components/gcp/node_pools.py). These give the final names' shape ("x" for the random part) for the checks.
AUTONAME_SUFFIX = "-" + "x" * 7


def node_pool_name(pool: GpuPool) -> str:
    return f"{pool.name}-pool{AUTONAME_SUFFIX}"


@dataclass(frozen=True)
class NameRule:
    low: int
    high: int
    pattern: str

    def problem(self, name: str) -> str:
        """'' if `name` is valid, else what is wrong with it (the caller names the resource)."""
        if not self.low <= len(name) <= self.high:
            return f"{name!r} is {len(name)} characters; GCP allows {self.low}-{self.high}"
        if not re.fullmatch(self.pattern, name):
            return f"{name!r} is not valid for GCP (lowercase letters, digits and '-', starting with a letter, not ending with '-')"
        return ""


RFC1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
GKE_NAME = NameRule(1, 40, RFC1035)
COMPUTE_NAME = NameRule(1, 63, RFC1035)
ACCOUNT_ID = NameRule(6, 30, RFC1035)


class _BucketRule(NameRule):
    def problem(self, name: str) -> str:
        if "google" in name or name.startswith("goog"):
            return f"{name!r} contains 'goog(le)', which Cloud Storage forbids in bucket names"
        return super().problem(name)


BUCKET = _BucketRule(3, 63, r"[a-z0-9][-_.a-z0-9]*[a-z0-9]")


def _shortened(value: str, by: int, valid: Callable[[str], bool]) -> str | None:
    """value shortened by `by` characters (keeping it a DNS label) if that makes `valid` true."""
    short = value[: max(1, len(value) - by)].rstrip("-")
    return short if short and short != value and valid(short) else None


def name_issues(p: Platform) -> Iterator[Issue]:
    """Each derived name checked from its final string; blame the config key that makes it too long, once."""
    if "google" in p.project:
        yield Issue("project", f"project IDs cannot contain 'google' ({p.project!r})", "use your project's real ID")
    # A fleet worker's teams use the manager's buckets (components/gcp/identity.py): it names none of its own.
    own_buckets = p.fleet is None or p.fleet.role != "worker"
    if "goog" in p.name_prefix and own_buckets:
        yield Issue("namePrefix", f"{p.name_prefix!r} puts 'goog' into every team's bucket name, which Cloud Storage forbids",
                    "pick a prefix without 'goog'")
    prefix_names = [(GKE_NAME, "cluster name", cluster_name), (COMPUTE_NAME, "network name", network_name),
                    (COMPUTE_NAME, "subnetwork name", subnet_name), (COMPUTE_NAME, "Cloud Router name", router_name),
                    (COMPUTE_NAME, "Cloud NAT name", nat_name), (ACCOUNT_ID, "node service account ID", node_account_id)]
    team_names = [(ACCOUNT_ID, "service account ID", team_account_id)] + (
        [(BUCKET, "bucket name", team_bucket_name)] if own_buckets else [])

    def fits(candidate: str) -> bool:
        """Every name derived from this prefix is valid (the teams' too, so the fix is complete)."""
        probe = p.model_copy(update={"name_prefix": candidate})
        return not any(r.problem(d(probe)) for r, _, d in prefix_names) and all(
            not r.problem(d(probe, t)) for t in p.teams for r, _, d in team_names)

    for rule, what, derive in prefix_names:
        problem = rule.problem(derive(p))
        if problem:
            example = next((c for n in range(len(p.name_prefix) - 1, 0, -1)
                            if (c := p.name_prefix[:n].rstrip("-")) and fits(c)), None)
            yield Issue("namePrefix", f"the {what} {problem}",
                        f"shorten namePrefix to at most {len(example)} characters, e.g. {example}" if example
                        else "shorten namePrefix", example=example)
            return  # one prefix, one error: every other name derived from it shortens with it
    for i, team in enumerate(p.teams):
        for rule, what, derive in team_names:
            name = derive(p, team)
            problem = rule.problem(name)
            if problem and "goog" in problem and "goog" not in team.name:
                continue  # the project or namePrefix carries it, reported above
            if problem:
                over = len(name) - rule.high
                example = None
                if over > 0:
                    example = _shortened(team.name, over, lambda c: not rule.problem(derive(p, team.model_copy(update={"name": c}))))
                yield Issue(f"teams[{i}].name", f"the team's {what} {problem} (namePrefix-team{'' if derive is team_account_id else ', after the project'})",
                            (f"shorten the team name by {over} characters, e.g. {example}" if example else "rename the team")
                            if over > 0 or "goog" in problem else "shorten namePrefix or the team name",
                            example=example)
                break
    for i, pool in enumerate(p.gpu_pools):
        problem = GKE_NAME.problem(node_pool_name(pool))
        if problem:
            over = len(node_pool_name(pool)) - GKE_NAME.high
            example = _shortened(pool.name, over, lambda c: not GKE_NAME.problem(node_pool_name(pool.model_copy(update={"name": c}))))
            yield Issue(f"gpuPools[{i}].name", f"the node pool name {problem} (<pool>-pool- plus Pulumi's 7-character auto-name suffix)",
                        (f"shorten the pool name by {over} characters" + (f", e.g. {example}" if example else ""))
                        if over > 0 else "rename the pool", example=example)
