"""A team's model server: Deployment + Service + HorizontalPodAutoscaler + PodDisruptionBudget (pure).

Admission: Kueue's `deployment` integration (Kueue v0.19.2 site/content/en/docs/tasks/run/deployment.md,
pkg/controller/jobs/deployment/deployment_webhook.go `Default`): the Deployment carries the queue-name
label; the webhook copies it onto the pod template with the `kueue.x-k8s.io/pod-suspending-parent`
annotation, and each pod is then gated and admitted alone as a plain pod. "On scale-in, the excess Pods
are deleted, and the quota is freed"; on scale-out new pods wait for quota. So the HPA scales within the
team's `serving` quota, and a replica the HPA removes frees its GPU node for the cluster autoscaler.

Sizing: one replica is `gpusPerReplica` GPUs of the serving queue's first flavor with that node's
allocatable share of cpu/memory (`per_gpu`), less the Cloud Storage FUSE sidecar, like a training pod.
The server speaks the Open Inference Protocol over HTTP (KServe "Open Inference Protocol (V2 Inference
Protocol)": a compliant server implements the health APIs `GET v2/health/live` and `GET v2/health/ready`).
The autoscaler holds the replicas' average GPU duty cycle (DCGM_FI_DEV_GPU_UTIL, served to the HPA
as the pods metric `SERVING_METRIC` by the platform's metrics adapter, components/monitoring/adapter.py).
"""

from __future__ import annotations

from components.kubernetes.admission import QUEUE_LABEL
from components.kubernetes.render import TEAM_LABEL
from components.model import Platform, flavors, per_gpu
from components.model.flavors import GPU_RESOURCE
from components.model.names import ksa_name, team_bucket_name
from components.model.priorities import priority_class_for
from components.model.schema import Team
from components.model.serving import SERVING, SERVING_METRIC
from components.training import contract

from .sizing import Sidecar, pod_resources, sidecar_for

MODELS_MOUNT = "/models"
PORT_NAME = "http"
CONTAINER = "server"
RUN_AS_USER = 1000
# The server loads its model before it is ready: allow it 10 minutes (startup probe) before liveness counts.
STARTUP_SECONDS = 600
PROBE_PERIOD = 10
# Scale down slowly: a GPU node that goes away takes minutes to come back (scale-up from zero).
SCALE_DOWN_WINDOW_SECONDS = 600


def server_name(team: Team) -> str:
    return f"{team.name}-model"


def _labels(team: Team) -> dict:
    """A fresh dict per use: one shared by several objects would print as a YAML alias."""
    return {"app.kubernetes.io/name": server_name(team), TEAM_LABEL: team.name}


def _pod_spec(platform: Platform, team: Team) -> tuple[dict, Sidecar]:
    server = team.serving
    flavor = flavors(platform)[team.queues.serving[0].flavor]
    share = per_gpu(flavor.machine, flavor.gpu_units_per_node).times(server.gpus_per_replica)
    sidecar = sidecar_for(share, platform.data)
    models = contract.checkpoint_volume(team_bucket_name(platform, team))
    models["csi"]["readOnly"] = True  # the server reads the published model; training writes it
    models["csi"]["volumeAttributes"].update(sidecar.volume_attributes())

    def probe(path: str, **extra) -> dict:
        return {"httpGet": {"path": path, "port": PORT_NAME}, "periodSeconds": PROBE_PERIOD, **extra}

    container = {
        "name": CONTAINER, "image": server.image,
        "ports": [{"name": PORT_NAME, "containerPort": server.port, "protocol": "TCP"}],
        "resources": pod_resources(share, server.gpus_per_replica, sidecar),
        "volumeMounts": [{"name": models["name"], "mountPath": MODELS_MOUNT, "readOnly": True}],
        "startupProbe": probe("/v2/health/live", failureThreshold=STARTUP_SECONDS // PROBE_PERIOD),
        "livenessProbe": probe("/v2/health/live", failureThreshold=3),
        "readinessProbe": probe("/v2/health/ready", failureThreshold=3),
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    return {
        "serviceAccountName": ksa_name(team),
        "priorityClassName": priority_class_for(SERVING),
        "containers": [container],
        "volumes": [models, *sidecar.volumes()],
        # Pod Security "restricted", as the team namespaces enforce (components/kubernetes/isolation.py).
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER,
                            "fsGroup": RUN_AS_USER, "seccompProfile": {"type": "RuntimeDefault"}},
    }, sidecar


def render_server(platform: Platform, team: Team) -> list[dict]:
    """The model server's objects in apply order (Service, Deployment, PodDisruptionBudget, HPA)."""
    server = team.serving
    name = server_name(team)
    spec, sidecar = _pod_spec(platform, team)

    def meta() -> dict:
        return {"name": name, "namespace": team.name, "labels": _labels(team)}

    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {**meta(), "labels": {**_labels(team), QUEUE_LABEL: SERVING}},
        "spec": {
            "replicas": server.min_replicas,
            "selector": {"matchLabels": _labels(team)},
            # Never surge: a surge pod needs a GPU the quota may not have; replace one replica at a time.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {"metadata": {"labels": _labels(team),
                                      "annotations": {**contract.POD_ANNOTATIONS, **sidecar.annotations()}},
                         "spec": spec},
        },
    }
    service = {"apiVersion": "v1", "kind": "Service", "metadata": meta(),
               "spec": {"type": "ClusterIP", "selector": _labels(team),
                        "ports": [{"name": PORT_NAME, "port": server.port, "targetPort": PORT_NAME, "protocol": "TCP"}]}}
    # One replica may be evicted at a time (node drains, autoscaler scale-down); with one replica this
    # still lets the node go, so a floor of one never pins a GPU node.
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(),
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _labels(team)}}}
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": server.min_replicas, "maxReplicas": server.max_replicas,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": SERVING_METRIC},
                "target": {"type": "AverageValue", "averageValue": str(server.target_gpu_percent)}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW_SECONDS}},
        },
    }
    return [service, deployment, pdb, hpa]


def replica_gpus(objs: list[dict]) -> int:
    """GPUs of one replica of a rendered server."""
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    return sum(int(c["resources"]["limits"].get(GPU_RESOURCE, 0))
               for c in deployment["spec"]["template"]["spec"]["containers"])
