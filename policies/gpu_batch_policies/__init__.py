"""The GPU batch platform's policies, in the order the pack lists them.

A package of its own (not the pack directory) so that it imports the same way in both places it runs:
as the top-level package `gpu_batch_policies` when the Pulumi CLI executes policies/__main__.py with
policies/ on sys.path, and as `policies.gpu_batch_policies` for the offline runner and the tests. It
depends on pulumi-policy only, never on the project's `components`.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from . import access, capacity, cost, kueue, multikueue, security, tenancy, workloads

PACK_NAME = "gpu-batch-platform-policies"
PACK_DESCRIPTION = (
    "Guardrails for the multi-team GPU batch platform on GKE: security, GPU capacity and cost, "
    "Kueue integrity and scale-to-zero."
)
# Mandatory unless a policy says otherwise (the advisory ones are recommendations).
PACK_ENFORCEMENT = EnforcementLevel.MANDATORY

POLICIES = security.POLICIES + tenancy.POLICIES + access.POLICIES + capacity.POLICIES + cost.POLICIES + kueue.POLICIES + multikueue.POLICIES + workloads.POLICIES

__all__ = ["PACK_DESCRIPTION", "PACK_ENFORCEMENT", "PACK_NAME", "POLICIES"]
