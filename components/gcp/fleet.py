"""A fleet's network link between stacks: the manager exports its reserved Cloud NAT address, each worker
reads it from the manager's stack and admits it to its control plane (master authorized networks).

The manager's stack reads each worker's kubeconfig (components/kubernetes/fleet_layer.py) and a worker reads
the manager's address, so the first deployment goes worker, manager, worker: until the manager's stack has
the output, the worker admits no manager and says so (docs/operating.md "Scaling out to several regions").
"""

from __future__ import annotations

import pulumi

from components.model import Platform, fleet

NAT_OUTPUT = "natAddresses"  # the manager stack's export: its NAT addresses as /32 blocks


def stack_path(stack: str) -> str:
    """A stack of this project, as a StackReference names it ("organization" on DIY backends)."""
    return f"{pulumi.get_organization() or 'organization'}/{pulumi.get_project()}/{stack}"


def manager_networks(platform: Platform) -> pulumi.Output[list] | None:
    """A worker's extra authorized networks: the manager stack's NAT addresses; None elsewhere."""
    if fleet.role(platform) != "worker":
        return None
    stack = platform.fleet.manager.stack
    reference = pulumi.StackReference("fleet-manager-stack", stack_name=stack_path(stack))

    def blocks(addresses) -> list[dict]:
        if not addresses:
            pulumi.log.warn(f"fleet.manager: stack {stack} exports no {NAT_OUTPUT} yet, so this worker admits no "
                            f"manager; run `pulumi up --stack {stack}`, then `pulumi up` here again")
            return []
        return [{"cidr_block": cidr, "display_name": f"multikueue manager {stack}"} for cidr in addresses]

    return reference.get_output(NAT_OUTPUT).apply(blocks)
