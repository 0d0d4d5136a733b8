"""The Cloud Storage FUSE sidecar GKE's webhook injects into a pod annotated `gke-gcsfuse/volumes: "true"`.

Requests come from the `gke-gcsfuse/{cpu,memory,ephemeral-storage}-request` annotations, else the
webhook's defaults, 250m CPU and 256Mi memory ("0" means none; GKE "Configure the Cloud Storage FUSE
CSI driver sidecar container", "Configure resources for the sidecar container";
GoogleCloudPlatform/gcs-fuse-csi-driver cmd/webhook/main.go `sidecar-cpu-request`/`sidecar-memory-request`).

Where it counts: a Job's or JobSet's Workload is built from its pod template, which never holds the
sidecar, so only the node sees it (placement). A plain pod's Workload (a Deployment replica, an Argo
step) is built from the Pod as stored, after every mutating webhook (Kueue v0.19.2
pkg/controller/jobs/pod/pod_controller.go `constructPodSet`: the pod set's template is `p.Spec`), so
Kueue's quota counts the sidecar too.
"""

from __future__ import annotations

from components.workloads.sizing import SIDECAR_BASE

GCSFUSE_ANNOTATION = "gke-gcsfuse/volumes"
GCSFUSE_DEFAULTS = {"cpu": f"{SIDECAR_BASE.cpu_millis}m", "memory": f"{SIDECAR_BASE.memory_mib}Mi"}
SIDECAR_NAME = "gke-gcsfuse-sidecar"  # pkg/webhook/sidecar_spec.go GcsFuseSidecarName
_AFTER = "istio-proxy"  # pkg/webhook/injection.go containerIndexOrderMap: the sidecar goes after Istio's
# pkg/webhook/sidecar_spec.go GetSecurityContext: the sidecar follows the restricted Pod Security Standard.
_SECURITY = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
             "seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": True, "runAsUser": 65534,
             "runAsGroup": 65534}


def gcsfuse_sidecar(annotations: dict[str, str]) -> list[dict]:
    """The sidecar GKE's webhook adds, as a container with its requests ("0" means none)."""
    if str(annotations.get(GCSFUSE_ANNOTATION, "")).lower() != "true":
        return []
    requests = {r: annotations.get(f"gke-gcsfuse/{r}-request", default) for r, default in GCSFUSE_DEFAULTS.items()}
    return [{"name": SIDECAR_NAME, "resources": {"requests": {r: v for r, v in requests.items() if str(v) != "0"}}}]


def with_gcsfuse_sidecar(spec: dict, annotations: dict[str, str]) -> dict:
    """The pod spec as the webhook stores it (pkg/webhook/injection.go `injectSidecarContainer`): a container
    the user named like the sidecar is replaced (`ExtractImageAndDeleteContainer`), and the sidecar is a
    native sidecar (an init container with restartPolicy Always) placed after istio-proxy, else first,
    which the webhook does when every node runs Kubernetes 1.29 or later (`injectAsNativeSidecar`,
    parsers.go minimumSupportedVersion; on older nodes it is a regular container, which adds the same
    requests unless an init container asks for more than the containers). Idempotent; a pod without the
    annotation is returned as is."""
    sidecar = gcsfuse_sidecar(annotations)
    if not sidecar:
        return spec
    others = lambda containers: [c for c in containers or [] if c.get("name") != SIDECAR_NAME]  # noqa: E731
    init = others(spec.get("initContainers"))
    at = next((i + 1 for i, c in enumerate(init) if c.get("name") == _AFTER), 0)
    native = {**sidecar[0], "restartPolicy": "Always", "securityContext": dict(_SECURITY)}
    return {**spec, "containers": others(spec.get("containers")), "initContainers": [*init[:at], native, *init[at:]]}


__all__ = ["GCSFUSE_ANNOTATION", "SIDECAR_NAME", "gcsfuse_sidecar", "with_gcsfuse_sidecar"]
