"""VPC, subnet with named secondary ranges, Cloud Router and Cloud NAT for private nodes."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model import Platform, fleet, nat
from components.model.names import nat_name, network_name, router_name, subnet_name

from .hardening import flow_log_config
from .services import ProjectApis

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


class Network(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork

    def __init__(self, name: str, platform: Platform, apis: ProjectApis, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=apis.ready("network"))
        cidrs = platform.network
        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=network_name(platform),
            auto_create_subnetworks=False,
            routing_mode="GLOBAL",
            opts=child,
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=subnet_name(platform),
            region=platform.region,
            network=self.network.id,
            ip_cidr_range=cidrs.subnet_cidr,
            # Nodes have no public IP: Google APIs (GCS, Artifact Registry) go through PGA.
            private_ip_google_access=True,
            log_config=flow_log_config(platform),  # VPC Flow Logs (security.flowLogs)
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": cidrs.pods_cidr},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": cidrs.services_cidr},
            ],
            opts=child,
        )
        router = gcp.compute.Router(
            f"{name}-router", name=router_name(platform), region=platform.region,
            network=self.network.id, opts=child,
        )
        # Private nodes reach the internet (image pulls, datasets) only through NAT. A fleet manager's NAT
        # uses reserved addresses instead of Google's auto-allocated ones (which change as the NAT scales):
        # its workers' control planes admit exactly those (docs/design.md "A fleet"). As many as the cluster's
        # most nodes need ports from (components/model/nat.py); the first keeps the NAT's name.
        self.nat_addresses: pulumi.Output[list] | None = None
        manual: dict = {"nat_ip_allocate_option": "AUTO_ONLY"}
        if fleet.role(platform) == "manager":
            addresses = [
                gcp.compute.Address(f"{name}-nat-ip" + (f"-{i + 1}" if i else ""),
                                    name=nat_name(platform) + (f"-{i + 1}" if i else ""), region=platform.region,
                                    address_type="EXTERNAL", opts=child)
                for i in range(nat.addresses_for(nat.max_vms(platform)))]
            manual = {"nat_ip_allocate_option": "MANUAL_ONLY", "nat_ips": [a.self_link for a in addresses]}
            self.nat_addresses = pulumi.Output.all(*[a.address for a in addresses]).apply(
                lambda ips: [f"{ip}/32" for ip in ips])
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=nat_name(platform),
            router=router.name,
            region=platform.region,
            **manual,
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child,
        )
        self.register_outputs({"network": self.network.id, "subnet": self.subnet.id})
