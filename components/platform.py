"""The whole platform, wired from one validated model. `__main__.py` calls `build_platform()`."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_gcp as gcp

from components.cost.component import CostEnvelope
from components.gcp.cluster import GkeCluster
from components.gcp.datasets import TeamDatasetShare
from components.gcp import fleet as fleet_network
from components.gcp.firewall import ControlPlaneFirewall
from components.gcp.hardening import ClusterHardening
from components.gcp.identity import NodeIdentity, TeamIdentity
from components.gcp.kubeconfig import kubeconfig
from components.gcp.network import Network
from components.gcp.node_pools import GpuNodePool, SystemNodePool
from components.gcp.services import ProjectApis
from components.kubernetes.controllers import control_plane_ports
from components.kubernetes.fleet_layer import KUBECONFIG_OUTPUT, worker_kubeconfig
from components.kubernetes.layer import build_kubernetes, validate_manifests
from components.model import ConfigError, Platform, endpoint_warnings, flavors
from components.model.fleet_agreement import counterpart_issues, quota_warnings
from components.model.images import digest_warnings
from components.model.load import decoded_config, parse_platform_value
from components.model.stack_file import CONFIG_KEY, locate_platform
from components.model.datasets import teams_with_datasets
from components.monitoring import adapter
from components.monitoring.layer import build_monitoring, validate_monitoring


def load_platform() -> Platform:
    """Read `<project>:platform` from the current stack's config (real run or mocks alike)."""
    config = pulumi.Config()
    stack = pulumi.get_stack()
    source = f"Pulumi.{stack}.yaml"
    value = config.get(CONFIG_KEY)
    if value is None:
        from pulumi.runtime import config as runtime_config  # every key of the stack, to say where the block went

        merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
        raise ConfigError(locate_platform(decoded_config(merged), config.name, stack), source)
    platform = parse_platform_value(value, source)
    if platform.fleet is not None:  # the fleet's other stacks, as their files next to this one say
        here = Path(__file__).resolve().parents[1]
        issues = counterpart_issues(platform, here, pulumi.get_project())
        if issues:
            raise ConfigError(issues, source)
        for warning in quota_warnings(platform, here, pulumi.get_project()):
            pulumi.log.warn(warning)
    return platform


def build_platform() -> None:
    platform = load_platform()  # raises ConfigError listing every problem before anything exists
    validate_manifests(platform)  # raises ManifestError: every Kubernetes object checked before any exists
    validate_monitoring(platform)
    for warning in [*endpoint_warnings(platform), *digest_warnings(platform)]:
        pulumi.log.warn(str(warning))
    provider = gcp.Provider("gcp", project=platform.project, region=platform.region)
    on_gcp = pulumi.ResourceOptions(providers=[provider])

    apis = ProjectApis("apis", platform, on_gcp)
    network = Network("network", platform, apis, on_gcp)
    nodes = NodeIdentity("nodes", platform, apis, on_gcp)
    hardening = ClusterHardening("hardening", platform, apis, on_gcp)
    cluster = GkeCluster("cluster", platform, network, nodes.email, apis, hardening, on_gcp,
                         manager_networks=fleet_network.manager_networks(platform))
    system_pool = SystemNodePool("system", platform, cluster, nodes.email, apis, on_gcp)
    # Without it the control plane cannot call the Kueue/JobSet webhooks on the private nodes.
    # (and the metrics adapter's APIService, when model servers autoscale)
    ports = sorted(set(control_plane_ports()) | ({adapter.LISTEN_PORT} if adapter.enabled(platform) else set()))
    firewall = ControlPlaneFirewall("control-plane", platform, network, nodes.email, ports, apis, on_gcp)
    # GPU pools hang off the cluster only: nothing waits for them, so they build in parallel with
    # the Kubernetes layer (which needs the cluster and its system pool).
    for flavor in flavors(platform).values():
        if not flavor.is_nap:
            GpuNodePool(flavor.name, platform, flavor, cluster, nodes.email, apis, on_gcp)
    teams = {team.name: TeamIdentity(f"team-{team.name}", platform, team, cluster.cluster, apis, on_gcp)
             for team in platform.teams}
    shares = {team.name: TeamDatasetShare(f"datasets-{team.name}", platform, team, network, apis, on_gcp)
              for team in teams_with_datasets(platform)}
    CostEnvelope("cost", platform)  # read by the policy pack's budget check
    access = kubeconfig(cluster)
    kubernetes = build_kubernetes(platform, access, ready=[cluster.cluster, system_pool.pool, firewall.rule],
                                  identities=teams, shares=shares)
    # On top: nothing of Kueue or the teams waits for monitoring.
    build_monitoring(platform, kubernetes, pulumi.ResourceOptions.merge(
        on_gcp, pulumi.ResourceOptions(depends_on=apis.ready("monitoring-dashboard"))))

    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
    pulumi.export("kubeconfig", access)
    pulumi.export("teamServiceAccounts", {name: t.email for name, t in teams.items()})
    pulumi.export("teamBuckets", {name: t.bucket for name, t in teams.items()})
    if network.nat_addresses is not None:  # a fleet manager: the address its workers admit
        pulumi.export(fleet_network.NAT_OUTPUT, network.nat_addresses)
    if kubernetes.fleet is not None and kubernetes.fleet.token is not None:  # a worker: what its manager dials
        pulumi.export(KUBECONFIG_OUTPUT, pulumi.Output.secret(pulumi.Output.all(
            cluster.name, cluster.endpoint, cluster.ca_certificate, kubernetes.fleet.token).apply(lambda a: worker_kubeconfig(*a))))
    pulumi.export("getCredentials", cluster.name.apply(
        lambda n: f"gcloud container clusters get-credentials {n} --region {platform.region} --project {platform.project}"))
