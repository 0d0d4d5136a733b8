"""Ready-to-apply team workloads derived from the model (pure: the model in, manifests out).

For a team and a kind - `high`, `low` and `compact` Jobs, a multi-node `jobset` on the low queue, a
one-container `shared` Job on a GPU sharing pool (one shared unit), a `dws` Job for teams granted the
Dynamic Workload Scheduler, the team's model server (`serving`, serving.py), the example Argo pipeline of a
team granted pipelines (`pipeline`, pipeline.py) - everything platform-specific comes from
the model: the queue label (the LocalQueue named after the class), the pod priority the queue requires
(`priority_class_for`, enforced at submission by the queue/priority policy), the team's KSA (Workload
Identity to the team GSA), GPUs per pod (one whole node of the class's first flavor) and cpu/memory
(that node's allocatable share, `per_gpu`, so the pod fits the node and the queue's quota), and the
extra placement a flavor needs (`job_placement`: the compact class's per-job placement group). Kueue
adds each flavor's node labels and tolerations at admission, so the job itself carries none.

Fault tolerance, as seed 000 means it (Kubernetes "Handling retriable and non-retriable pod failures
with Pod failure policy", "Job" > "Backoff limit per index"; JobSet `failurePolicy` in
api/jobset/v1alpha2/jobset_types.go):
- a pod that fails with the `DisruptionTarget` condition (spot preemption, node drain, Kueue
  preemption) is ignored: it never counts against the backoff limit and is simply recreated;
- the trainer's "stopped on request after a checkpoint" exit code is ignored too (the retry resumes);
- its "bad configuration" exit code fails the whole job at once: retrying a real bug wastes GPUs;
- Indexed Jobs retry per index (`backoffLimitPerIndex`), so one bad node restarts one rank's pod;
- a JobSet restarts as a whole (`maxRestarts`) when a child Job fails, except when the failure came
  from the pod failure policy (a real bug), which fails the JobSet.
The team bucket is mounted through the Cloud Storage FUSE CSI driver as a CSI ephemeral volume with a
RAM file cache (`fileCacheCapacity`, a `gke-gcsfuse-cache` memory volume); the `gke-gcsfuse/volumes:
"true"` annotation makes GKE inject its sidecar, whose requests the pod template states
(`gke-gcsfuse/*-request`, limits unset) and our container leaves room for (sizing.py; "Mount Cloud Storage buckets
as CSI ephemeral volumes", "Configure the Cloud Storage FUSE CSI driver sidecar container").
The trainer itself (image, command, env, ports, mounts, exit codes) is components/training/contract.py.
"""

from __future__ import annotations

from typing import Optional

from components.kubernetes.admission import QUEUE_LABEL  # the label the queue/priority policy reads
from components.kubernetes.render import TEAM_LABEL  # the team namespaces' label
from components.model import Flavor, Platform, datasets, fleet, flavors, per_gpu
from components.model.flavors import GPU_RESOURCE, job_placement
from components.model.ledger import ledger
from components.model.names import ksa_name
from components.model.priorities import DWS, SHARED, priority_class_for
from components.model.schema import Team
from components.model.serving import SERVING
from components.training import contract

from .pipeline import PIPELINE, PIPELINE_QUEUE, render_pipeline
from .serving import render_server
from .sizing import pod_resources, sidecar_for

JOB_KINDS = ("high", "low", "compact", "jobset", SHARED, DWS, SERVING, PIPELINE)
JOBSET_QUEUE = "low"  # the reference's JobSets run on the low queue (refarch 4.4)
JOBSET_WORKER = "worker"
BACKOFF_LIMIT_PER_INDEX = 3
JOBSET_MAX_RESTARTS = 10
FS_GROUP = 1000
RUN_AS_USER = 1000  # not root: the trainer needs no privilege (it reads its code, writes /data)


class WorkloadRequestError(ValueError):
    """A team/kind the platform cannot run (message names the choices)."""


def queue_of(kind: str) -> str:
    return {"jobset": JOBSET_QUEUE, PIPELINE: PIPELINE_QUEUE}.get(kind, kind)


def kinds_for(platform: Platform, team: Team) -> list[str]:
    """The workload kinds this team can submit, in JOB_KINDS order."""
    classes = {cls for cls, quotas in team.queues.by_class() if quotas}
    if team.dws and platform.dws:
        classes.add(DWS)
    if team.serving is None:
        classes.discard(SERVING)  # a serving quota without a server: the team deploys its own
    return [k for k in JOB_KINDS if queue_of(k) in classes and (k != PIPELINE or team.pipelines)]


def first_flavor(platform: Platform, team: Team, kind: str) -> Flavor:
    """The flavor a job of this kind is sized for: the queue's first flavor (DWS: the DWS flavor)."""
    queue = queue_of(kind)
    if queue == DWS:
        return flavors(platform)[platform.dws.flavor]
    quotas = dict(team.queues.by_class())[queue]
    return flavors(platform)[quotas[0].flavor]


def pods_for(platform: Platform, team: Team, kind: str) -> int:
    """Pods (one node each): as many as the queue's first flavor grants the team, 1 to 2.

    JobSets always span two nodes: that is what they are for.
    """
    if kind == "jobset":
        return 2
    if kind == SHARED:
        return 1  # a notebook or small job: one container on one shared unit
    flavor = first_flavor(platform, team, kind)
    if queue_of(kind) == DWS:
        grant = platform.dws.gpus
    else:
        # The queue's first quota: its own GPUs, or what it can borrow when it owns none.
        quotas = ledger(platform)
        first = next(e for e in quotas.of_team(team) if e.queue_class == queue_of(kind))
        grant = first.nominal or quotas.borrowable(first)
    return max(1, min(2, grant // flavor.gpus_per_node))


def _pod_failure_policy() -> dict:
    container = contract.CONTAINER_NAME
    return {"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        {"action": "Ignore", "onExitCodes": {"containerName": container, "operator": "In",
                                             "values": [contract.EXIT_INTERRUPTED]}},
        {"action": "FailJob", "onExitCodes": {"containerName": container, "operator": "In",
                                              "values": [contract.EXIT_BAD_CONFIG]}},
    ]}


def _pod_template(platform: Platform, team: Team, kind: str, name: str, pods: int, master_addr: str,
                  in_jobset: bool, subdomain: Optional[str]) -> dict:
    flavor = first_flavor(platform, team, kind)
    gpus = gpus_per_pod(flavor)
    share = per_gpu(flavor.machine, flavor.gpu_units_per_node).times(gpus)
    sidecar = sidecar_for(share, platform.data)
    container = contract.training_container(name, master_addr=master_addr, pods_per_job=pods,
                                            procs_per_pod=gpus, in_jobset=in_jobset)
    container["resources"] = pod_resources(share, gpus, sidecar)
    bucket = contract.checkpoint_volume(fleet.team_bucket(platform, team))  # a worker's jobs: the manager's
    bucket["csi"]["volumeAttributes"].update(sidecar.volume_attributes())
    spec = {
        "serviceAccountName": ksa_name(team),
        "priorityClassName": priority_class_for(queue_of(kind)),
        "restartPolicy": "Never",  # podFailurePolicy requires it
        "terminationGracePeriodSeconds": contract.TERMINATION_GRACE_SECONDS,
        "containers": [container],
        "volumes": [contract.code_volume(code_configmap(name)),
                    bucket, *sidecar.volumes()],
    }
    if team.datasets is not None:  # the team's Filestore share, read-only: jobs read, a loader job writes
        spec["volumes"].append({"name": datasets.VOLUME, "persistentVolumeClaim": {"claimName": datasets.CLAIM,
                                                                                   "readOnly": True}})
        container["volumeMounts"].append({"name": datasets.VOLUME, "mountPath": datasets.MOUNT_PATH, "readOnly": True})
    # Pod Security "restricted" (the team namespaces enforce it, components/kubernetes/isolation.py):
    # a non-root user, no privilege escalation, no capabilities, the runtime's seccomp profile. fsGroup
    # makes the Cloud Storage FUSE driver mount the bucket with gid=fsGroup, dir-mode 775 and file-mode
    # 664, so this user can write checkpoints (gcs-fuse-csi-driver pkg/csi_driver/utils.go, "Delegate
    # fsGroup to CSI Driver"); GKE also needs a non-zero fsGroup for a custom sidecar cache volume
    # ("Configure a custom read cache volume for the sidecar container"). The sidecar GKE injects is
    # restricted itself (pkg/webhook/sidecar_spec.go GetSecurityContext).
    spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER,
                               "fsGroup": FS_GROUP, "seccompProfile": {"type": "RuntimeDefault"}}
    container["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    if subdomain:
        spec["subdomain"] = subdomain
    placement = job_placement(flavor, name, team.name)
    for key, value in placement.items():
        spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) else list(spec.get(key, [])) + list(value)
    annotations = {**contract.POD_ANNOTATIONS, **sidecar.annotations()}
    return {"metadata": {"labels": {TEAM_LABEL: team.name}, "annotations": annotations}, "spec": spec}


def gpus_per_pod(flavor: Flavor) -> int:
    """A whole node's GPUs; on a sharing pool one unit, because GKE lets a container use at most one
    shared GPU (components/model/sharing.py)."""
    return 1 if flavor.sharing else flavor.gpus_per_node


def code_configmap(name: str) -> str:
    return f"{name}-code"


def _configmap(team: Team, name: str) -> dict:
    configmap = contract.code_configmap(code_configmap(name), team.name)
    configmap["metadata"]["labels"] = {TEAM_LABEL: team.name}
    return configmap


def _metadata(team: Team, kind: str, name: str) -> dict:
    return {"name": name, "namespace": team.name, "labels": {QUEUE_LABEL: queue_of(kind), TEAM_LABEL: team.name}}


def _indexed_job(platform: Platform, team: Team, kind: str, name: str) -> list[dict]:
    pods = pods_for(platform, team, kind)
    service = name  # headless Service = pod subdomain, so rank 0 is <job>-0.<service>
    template = _pod_template(platform, team, kind, name, pods, contract.indexed_job_master_addr(name, service),
                             in_jobset=False, subdomain=service)
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(team, kind, name),
        "spec": {
            "suspend": True,  # Kueue unsuspends it on admission
            "completionMode": "Indexed", "completions": pods, "parallelism": pods,
            "backoffLimitPerIndex": BACKOFF_LIMIT_PER_INDEX,
            "podFailurePolicy": _pod_failure_policy(),
            "template": template,
        },
    }
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": service, "namespace": team.name, "labels": {TEAM_LABEL: team.name}},
           "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                    "selector": {"batch.kubernetes.io/job-name": name},
                    "ports": [{"name": contract.PORT_NAME, "port": contract.PORT, "protocol": "TCP"}]}}
    return [_configmap(team, name), svc, job]


def _jobset(platform: Platform, team: Team, kind: str, name: str) -> list[dict]:
    pods = pods_for(platform, team, kind)
    # JobSet creates the headless Service `<jobset>` itself (network.enableDNSHostnames).
    template = _pod_template(platform, team, kind, name, pods, contract.jobset_master_addr(name, JOBSET_WORKER),
                             in_jobset=True, subdomain=None)
    jobset = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": _metadata(team, kind, name),
        "spec": {
            "suspend": True,
            "network": {"enableDNSHostnames": True, "publishNotReadyAddresses": True},
            "failurePolicy": {
                "maxRestarts": JOBSET_MAX_RESTARTS,
                "rules": [{"name": "realBugFailsTheJobSet", "action": "FailJobSet",
                           "onJobFailureReasons": ["PodFailurePolicy"]}],
            },
            "replicatedJobs": [{
                "name": JOBSET_WORKER, "replicas": 1,
                "template": {"spec": {
                    "completionMode": "Indexed", "completions": pods, "parallelism": pods,
                    # A failed pod fails the child Job and JobSet recreates all of them together: the
                    # ranks of one DDP run restart as a group and resume from the last checkpoint.
                    "backoffLimit": 0,
                    "podFailurePolicy": _pod_failure_policy(),
                    "template": template,
                }},
            }],
        },
    }
    return [_configmap(team, name), jobset]


def render(platform: Platform, team_name: str, kind: str, name: Optional[str] = None) -> list[dict]:
    """The objects of one workload, in apply order (ConfigMap, Service, Job | ConfigMap, JobSet | a model
    server's Service, Deployment, PodDisruptionBudget, HPA, named after the team | ConfigMap, Workflow)."""
    team = next((t for t in platform.teams if t.name == team_name), None)
    if team is None:
        raise WorkloadRequestError(f"no team {team_name!r}; teams: {', '.join(t.name for t in platform.teams)}")
    kinds = kinds_for(platform, team)
    if kind not in kinds:
        i = platform.teams.index(team)
        grant = {PIPELINE: f"; fix: set teams[{i}].pipelines: true in the stack (Argo Workflows in its namespace)"
                 if not team.pipelines else f"; fix: give teams[{i}] queues.{queue_of(PIPELINE)} quota (its steps run there)",
                 SERVING: f"; fix: give teams[{i}] a serving: section and queues.serving quota"}.get(kind, "")
        raise WorkloadRequestError(f"team {team.name} cannot run a {kind!r} workload; it can run: {', '.join(kinds)}"
                                   + grant)
    if kind == SERVING:
        return render_server(platform, team)
    name = name or f"train-{kind}"
    if kind == PIPELINE:
        return [_configmap(team, name), render_pipeline(platform, team, name, code_configmap(name))]
    return _jobset(platform, team, kind, name) if kind == "jobset" else _indexed_job(platform, team, kind, name)


def gpu_requests(objs: list[dict]) -> int:
    """GPUs a rendered workload asks for in total (for tests and messages)."""
    total = 0
    for obj in objs:
        if obj["kind"] == "Job":
            specs = [(obj["spec"]["parallelism"], obj["spec"]["template"]["spec"])]
        elif obj["kind"] == "JobSet":
            specs = [(rj.get("replicas", 1) * rj["template"]["spec"]["parallelism"], rj["template"]["spec"]["template"]["spec"])
                     for rj in obj["spec"]["replicatedJobs"]]
        else:
            continue
        for pods, spec in specs:
            total += pods * sum(int(c["resources"]["limits"].get(GPU_RESOURCE, 0)) for c in spec["containers"])
    return total
