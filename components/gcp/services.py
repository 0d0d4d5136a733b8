"""The Google APIs the stack calls, enabled as resources of the stack and never disabled on destroy.

Each resource waits for exactly the APIs its own calls need (`ProjectApis.ready`), so a new project
works on the first `pulumi up`, and `pulumi destroy` leaves the project's APIs as it found them
(another stack or person may rely on them).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components.model import Platform

COMPUTE = "compute.googleapis.com"  # VPC, subnet, router, NAT, firewall, reservations, node VMs
CONTAINER = "container.googleapis.com"  # the cluster and its node pools
# Image streaming (gcfs_config on the pools): GKE "Use Image streaming to pull container images",
# Before you begin: "Enable the Container File System API".
CONTAINER_FILESYSTEM = "containerfilesystem.googleapis.com"
IAM = "iam.googleapis.com"  # service accounts and their IAM policies (Workload Identity binding)
# Workload Identity: GKE's metadata server mints the team GSA's tokens through
# projects.serviceAccounts.generateAccessToken, an IAM Service Account Credentials API method.
IAM_CREDENTIALS = "iamcredentials.googleapis.com"
# Project-level IAM bindings are read-modify-write of the project's policy (getIamPolicy/setIamPolicy),
# which is the Cloud Resource Manager API.
CLOUD_RESOURCE_MANAGER = "cloudresourcemanager.googleapis.com"
STORAGE = "storage.googleapis.com"  # team buckets and their IAM
# The cluster sends system and workload logs and metrics (logging_config / monitoring_config,
# Managed Service for Prometheus): GKE "Configure logging and monitoring" needs both APIs.
LOGGING = "logging.googleapis.com"
MONITORING = "monitoring.googleapis.com"
# Team dataset shares: the stack creates each team's Filestore instance through this API (GKE "Access
# Filestore instances with the Filestore CSI driver", Before you begin: "Enable the Cloud Filestore API").
FILESTORE = "file.googleapis.com"
# The Secrets encryption key (components/gcp/hardening.py) and the Binary Authorization policy.
CLOUD_KMS = "cloudkms.googleapis.com"
BINARY_AUTHORIZATION = "binaryauthorization.googleapis.com"

# What each kind of resource the program creates needs before it can be created.
NEEDS: dict[str, tuple[str, ...]] = {
    "network": (COMPUTE,),
    "firewall": (COMPUTE,),
    "reservation": (COMPUTE,),
    "service-account": (IAM,),
    "service-account-iam": (IAM, IAM_CREDENTIALS),
    "project-iam": (CLOUD_RESOURCE_MANAGER,),
    "bucket": (STORAGE,),
    "cluster": (CONTAINER, COMPUTE, CONTAINER_FILESYSTEM, LOGGING, MONITORING),
    "filestore": (FILESTORE, COMPUTE),
    "node-pool": (CONTAINER, CONTAINER_FILESYSTEM),
    "monitoring-dashboard": (MONITORING,),
    "kms": (CLOUD_KMS,),
    "binauthz": (BINARY_AUTHORIZATION, CONTAINER),
}
APIS: tuple[str, ...] = tuple(sorted({api for apis in NEEDS.values() for api in apis}))


class ProjectApis(pulumi.ComponentResource):
    """One `gcp.projects.Service` per API in `APIS`."""

    services: dict[str, gcp.projects.Service]

    def __init__(self, name: str, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("gpu-batch:gcp:ProjectApis", name, None, opts)
        self.services = {
            api: gcp.projects.Service(
                f"{name}-{api.split('.')[0]}",
                project=platform.project,
                service=api,
                # Never switch an API off on destroy: other workloads in the project may use it.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for api in APIS
        }
        self.register_outputs({"services": sorted(self.services)})

    def ready(self, kind: str) -> list[pulumi.Resource]:
        """The Service resources a resource of `kind` (a key of NEEDS) must wait for."""
        return [self.services[api] for api in NEEDS[kind]]
