"""Protection a production stack turns off, as the plan diff says it (the policy pack's
production-keeps-protection refuses the same stack at `pulumi preview`)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

PRODUCTION = "production"
CLUSTER = "gcp:container/cluster:Cluster"
BUCKET = "gcp:storage/bucket:Bucket"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
KMS_KEY = "gcp:kms/cryptoKey:CryptoKey"
NODE_POOL = "gcp:container/nodePool:NodePool"


def _get(resource: dict, *path: str) -> Any:
    node: Any = resource
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _on(value: Any) -> bool:
    return value is True or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0) or (
        isinstance(value, str) and value not in ("", "DECRYPTED", "DISABLED"))


# Per resource type: (what it is, how to read it); "on" before and off after is flagged.
CHECKS: dict[str, list[tuple[str, Callable[[dict], Any]]]] = {
    CLUSTER: [("deletionProtection", lambda r: _get(r, "inputs", "deletionProtection")),
              ("Pulumi protect", lambda r: _get(r, "options", "protect")),
              ("KMS Secrets encryption", lambda r: _get(r, "inputs", "databaseEncryption", "state")),
              ("Binary Authorization", lambda r: _get(r, "inputs", "binaryAuthorization", "evaluationMode")),
              ("intranode visibility", lambda r: _get(r, "inputs", "enableIntranodeVisibility")),
              ("KMS boot disks of auto-provisioned nodes",
               lambda r: _get(r, "inputs", "clusterAutoscaling", "autoProvisioningDefaults", "bootDiskKmsKey"))],
    NODE_POOL: [("KMS boot disks", lambda r: _get(r, "inputs", "nodeConfig", "bootDiskKmsKey"))],
    BUCKET: [("Pulumi protect", lambda r: _get(r, "options", "protect")),
             ("retain on delete", lambda r: _get(r, "options", "retainOnDelete")),
             ("versioning", lambda r: _get(r, "inputs", "versioning", "enabled")),
             ("soft delete", lambda r: _get(r, "inputs", "softDeletePolicy", "retentionDurationSeconds"))],
    SUBNET: [("VPC Flow Logs", lambda r: _get(r, "inputs", "logConfig") is not None or None)],
    KMS_KEY: [("Pulumi protect", lambda r: _get(r, "options", "protect"))],
}


def production(resources: list[dict]) -> bool:
    return any(r.get("type") == CLUSTER and _get(r, "inputs", "resourceLabels", "environment") == PRODUCTION
               for r in resources)


def turned_off(old: list[dict], new: list[dict]) -> Iterator[str]:
    """`name`: what was on in OLD and is off (or gone) in NEW, when NEW is a production stack."""
    if not production(new):
        return
    after = {r["urn"]: r for r in new}
    for before in old:
        checks = CHECKS.get(before.get("type"), [])
        now = after.get(before["urn"])
        for what, read in checks:
            if now is not None and _on(read(before)) and not _on(read(now)):
                yield f"`{before['name']}`: {what} turned off"
