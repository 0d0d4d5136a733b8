"""Shared by the GCP-layer tests (tests/gcp/test_gcp_layer.py, test_gcp_changes.py): resource types, the dev
stack's names, and lookups in a capture of the real program."""

from __future__ import annotations

import yaml

from components.model.catalog import CATALOG_FILE
from components.capture import Capture, Resource
from conftest import load_dev_platform_raw

NODE_POOL = "gcp:container/nodePool:NodePool"
CLUSTER = "gcp:container/cluster:Cluster"
RESERVATION = "gcp:compute/reservation:Reservation"
ACCOUNT = "gcp:serviceaccount/account:Account"
WI_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ROUTER = "gcp:compute/router:Router"
NAT = "gcp:compute/routerNat:RouterNat"
GPU_POOL_COMPONENT = "gpu-batch:gcp:GpuNodePool"
DEFAULT_COMPUTE_SA = "-compute@developer.gserviceaccount.com"
FORBIDDEN_ROLES = {"roles/owner", "roles/editor", "roles/storage.admin"}
CATALOG = yaml.safe_load(CATALOG_FILE.read_text())

RAW = load_dev_platform_raw()
PREFIX, PROJECT = RAW["namePrefix"], RAW["project"]
TEAMS = [t["name"] for t in RAW["teams"]]


def only(resources: list[Resource]) -> Resource:
    assert len(resources) == 1, [r.name for r in resources]
    return resources[0]


def the_cluster(c: Capture) -> Resource:
    return only(c.of_type(CLUSTER))


def pool(c: Capture, name: str) -> Resource:
    """The node pool of GPU pool (or flavor) `name`, or of the system pool: Pulumi name `<name>-pool`
    (the GKE name is auto-named from it, see components/gcp/node_pools.py)."""
    return only([r for r in c.of_type(NODE_POOL) if r.name == f"{name}-pool"])


def gpu_pools(c: Capture) -> list[Resource]:
    return [r for r in c.of_type(NODE_POOL) if r.inputs["nodeConfig"].get("guestAccelerators")]


def pool_max_nodes(r: Resource) -> int:
    if "nodeCount" in r.inputs:
        return r.inputs["nodeCount"]
    return r.inputs["autoscaling"]["totalMaxNodeCount"]


def account(c: Capture, account_id: str) -> Resource:
    return only([r for r in c.of_type(ACCOUNT) if r.inputs["accountId"] == account_id])


def node_sa_email(c: Capture) -> str:
    return account(c, f"{PREFIX}-nodes").outputs["email"]


def team_email(c: Capture, team: str) -> str:
    return account(c, f"{PREFIX}-{team}").outputs["email"]


def resource_limits(c: Capture) -> dict[str, dict]:
    limits = the_cluster(c).inputs["clusterAutoscaling"]["resourceLimits"]
    return {entry["resourceType"]: entry for entry in limits}


def walk(value, path=""):
    """Every (path, leaf) of a nested input structure."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value
