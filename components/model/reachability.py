"""Can any configured client reach the control-plane endpoint the kubeconfig targets? (pure)

`pulumi up` reaches the cluster through the kubeconfig built from the cluster's outputs: the private
endpoint when `cluster.privateEndpoint` is true, else the public one. GKE "About network isolation"
/ "Add authorized networks for control plane access": with the public endpoint, only the authorized
networks' *public* addresses get in (a private 10.x/172.16.x/192.168.x source never reaches a public
IP: it leaves through NAT with a public address); the private endpoint is reached from inside the
VPC (or peered / VPN networks), i.e. from private ranges that are authorized.

A mismatch is a warning, not an error: the GCP layer still builds, and the same config is right once
the user adds their admin network (the dev stack ships a placeholder). The plan and `pulumi preview`
print it with the path and the fix.
"""

from __future__ import annotations

import ipaddress

from .errors import Issue
from .schema import Platform


def _is_public(cidr: str) -> bool:
    return ipaddress.ip_network(cidr).is_global


def endpoint_warnings(platform: Platform) -> list[Issue]:
    """With the private endpoint, checks_network.authorized_network_issues already rejects public ranges
    (and at least one network is required), so only the public-endpoint case can leave no client able to reach it."""
    nets = platform.network.authorized_networks
    if platform.cluster.private_endpoint or any(_is_public(n.cidr) for n in nets):
        return []
    listed = ", ".join(n.cidr for n in nets)
    return [Issue(
        "network.authorizedNetworks",
        f"the kubeconfig targets the public endpoint (cluster.privateEndpoint: false) but every authorized network "
        f"({listed}) is a private range, which cannot reach a public address: `pulumi up` will fail at the "
        f"Kubernetes layer",
        "add the public CIDR you run `pulumi up` and kubectl from (pulumi config set --path "
        "'platform.network.authorizedNetworks[N].cidr' <your-ip>/32), or set cluster.privateEndpoint: true and "
        "run from inside the VPC",
    )]
