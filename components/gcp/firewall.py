"""The firewall rule that lets the private control plane reach the controllers' webhooks on the nodes.

GKE's private-cluster doc ("Adding firewall rules for specific use cases",
https://cloud.google.com/kubernetes-engine/docs/how-to/private-clusters#add_firewall_rules): the
rule GKE creates lets the control plane reach nodes only on TCP 443 and 10250; any admission webhook
or aggregated API served on another port needs an ingress rule from the control-plane range.
The program hands in the ports (components/kubernetes/controllers.py, the same constants the Kueue
Configuration uses).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model import Platform

from .network import Network
from .services import ProjectApis


class ControlPlaneFirewall(pulumi.ComponentResource):
    rule: gcp.compute.Firewall

    def __init__(self, name: str, platform: Platform, network: Network, node_sa: pulumi.Input[str],
                 ports: list[int], apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:ControlPlaneFirewall", name, None, opts)
        self.rule = gcp.compute.Firewall(
            f"{name}-webhooks",
            name=f"{platform.name_prefix}-control-plane-to-webhooks",
            description="GKE control plane to the Kueue/JobSet webhooks and Kueue's visibility API on the nodes",
            network=network.network.id,
            direction="INGRESS",
            priority=1000,
            source_ranges=[platform.network.master_cidr],
            allows=[{"protocol": "tcp", "ports": [str(p) for p in ports]}],
            # Every node (system, GPU pools, NAP) runs as the node account, so this targets all of them.
            target_service_accounts=[node_sa],
            opts=pulumi.ResourceOptions(parent=self, depends_on=apis.ready("firewall")),
        )
        self.register_outputs({"name": self.rule.name})
