"""Cloud NAT's port arithmetic: how many NAT addresses a gateway needs for the VMs behind it.

Google Cloud NAT "IP addresses and ports" (cloud.google.com/nat/docs/ports-and-addresses): automatic allocation
adds addresses "based on ... The number of VMs that use the gateway [and] The number of ports that are reserved
for each VM"; with manual assignment the addresses are ours to count. Each NAT IP address has 64,512 source ports
per protocol (1024-65535), and with static port allocation every VM reserves the minimum ports per VM, so one
address serves 64,512 // minPortsPerVm VMs (the page's port reservation example: 1 NAT IP and 64 ports per VM
serve 1,008 VMs; read through a transcription, the page's port section was not in the stored copy).

components/gcp/network.py sets neither `min_ports_per_vm` nor dynamic port allocation, so each VM reserves the
default: pulumi-gcp 10.2.0 compute.RouterNat `min_ports_per_vm`: "Defaults to 64 for static port allocation and
32 dynamic port allocation if not set"; Compute API RouterNat `enableDynamicPortAllocation`: "If not specified,
it is disabled by default". A test holds the captured RouterNat to that (tests/gcp/test_fleet_gcp.py).
"""

from __future__ import annotations

from .flavors import flavors
from .schema import Platform

PORTS_PER_ADDRESS = 64_512
MIN_PORTS_PER_VM = 64  # static allocation's default; the NAT sets no other
VMS_PER_ADDRESS = PORTS_PER_ADDRESS // MIN_PORTS_PER_VM  # 1,008
# The system pool upgrades with one surge node (components/gcp/node_pools.py SURGE_UPGRADE); GPU pools and NAP's
# pools never surge (max_surge 0), so at most one VM more than the pools' maximum exists at once.
SYSTEM_POOL_SURGE = 1


def addresses_for(vms: int) -> int:
    """NAT addresses whose ports every one of `vms` VMs can reserve its minimum from (at least one)."""
    return max(1, -(-vms // VMS_PER_ADDRESS))


def max_vms(platform: Platform) -> int:
    """The most nodes the cluster can have at once: each pool at its maximum (a reserved pool's fixed size, NAP's
    per-shape GPU limit in nodes) plus the system pool's, and its surge node during an upgrade."""
    system = platform.cluster.system_pool
    return system.max_nodes + SYSTEM_POOL_SURGE + sum(f.max_nodes for f in flavors(platform).values())
