"""A model server's replica as Kueue sees it (the `deployment` integration, Kueue v0.19.2).

pkg/controller/jobs/deployment/deployment_webhook.go `Default` copies the Deployment's queue-name
label onto its pod template; each pod is then a plain pod ("every Pod from a Deployment is represented
as a single independent Plain Pod", site/content/en/docs/tasks/run/deployment.md), whose Workload has
one pod set `main` of count 1 with the pod's spec (pkg/controller/jobs/pod/pod_controller.go
`constructPodSet`), the pod as stored: GKE's FUSE sidecar included where the replica mounts a bucket
(components/explain/gcsfuse.py). So `explain` answers for one replica: the next one the autoscaler adds.
"""

from __future__ import annotations

from .gcsfuse import with_gcsfuse_sidecar

DEPLOYMENT = ("apps/v1", "Deployment")


def replica_pod_set(spec: dict) -> tuple[str, int, dict, dict, str]:
    """One replica of a Deployment spec as a pod set: (name, count, pod spec, annotations, where)."""
    template = spec.get("template") or {}
    annotations = dict((template.get("metadata") or {}).get("annotations") or {})
    return "main", 1, with_gcsfuse_sidecar(template.get("spec") or {}, annotations), annotations, "spec.template.spec"
