"""A team's dataset share: the Filestore Zonal instance the stack owns (components/model/datasets.py).

The instance peers with the platform's VPC (DIRECT_PEERING: Filestore picks a free range of it), lives
in one zone, and is guarded like the team buckets: `dataProtection.protect` makes `pulumi destroy` and
any replacement refuse, and otherwise destroying the stack or removing `datasets` deletes it.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model import Platform
from components.model.datasets import SHARE, TIER, share_zone, volume_handle
from components.model.names import network_name
from components.model.schema import Team

from .network import Network
from .services import ProjectApis


class TeamDatasetShare(pulumi.ComponentResource):
    """One Filestore instance with one file share; its volume handle and IP bind the team's claim."""

    zone: str
    volume_handle: pulumi.Output[str]
    ip: pulumi.Output[str]

    def __init__(self, name: str, platform: Platform, team: Team, network: Network, apis: ProjectApis,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:TeamDatasetShare", name, None, opts)
        self.zone = share_zone(platform, team)
        instance = gcp.filestore.Instance(
            f"{name}-filestore",
            location=self.zone,
            tier=TIER,
            description=f"{platform.name_prefix}: datasets of {team.name}",
            file_shares={"name": SHARE, "capacity_gb": team.datasets.size_gi},
            networks=[{"network": network_name(platform), "modes": ["MODE_IPV4"], "connect_mode": "DIRECT_PEERING"}],
            labels={"team": team.name},
            deletion_protection_enabled=platform.data_protection.protect,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*apis.ready("filestore"), network.network],
                                        protect=platform.data_protection.protect),
        )
        self.volume_handle = instance.name.apply(lambda n: volume_handle(self.zone, n))
        self.ip = instance.networks.apply(lambda nets: nets[0].ip_addresses[0])
        self.register_outputs({"volumeHandle": self.volume_handle, "ip": self.ip})
