"""A team's example pipeline: one Argo Workflow (argoproj.io/v1alpha1, Argo v4.0.6) rendered from the model.

    prep (CPU) -> train x TRIALS (GPU, fan-out) -> evaluate (GPU) -> publish (CPU)

Admission: every step is a pod, and Kueue admits each step pod alone through its plain-pod integration
(Kueue v0.19.2 site/content/en/docs/tasks/run/external_workloads/argo_workflow.md: the queue label goes
in `spec.podMetadata` or `spec.templates[].metadata`; each pod is its own Workload). Each template
carries its own queue label and the class's priorityClassName (Argo v4.0.6 workflowpod.go: the
template's labels and priorityClassName reach the pod), which the workflow queue/priority policy
demands at submission (components/kubernetes/admission.py). The platform has no CPU-only queue class or
node pool for team work, so the CPU steps run on the `low` queue too: Kueue charges their cpu/memory to
its quota and places them with its flavor's node labels, on a node of that GPU flavor.

Sizing, as for Jobs (sizing.py): a GPU step is a whole node of the low queue's first flavor, a CPU step
one GPU's share of that node's cpu/memory and no GPU. Unlike a Job, a plain pod's Workload is built from
the pod itself (pkg/controller/jobs/pod/pod_controller.go `constructPodSet`), so Kueue counts the FUSE
sidecar GKE injects and Argo's `wait` container too. The wait container requests the controller's
`executor.resources`, which the platform leaves at the chart's `{}`, so the team namespace's LimitRange
`defaultRequest` applies to it (`EXECUTOR_REQUESTS`); the main container leaves room for both, and the
pod as the node and the quota see it is exactly the share. (Argo's `init` container runs before main
and gets the same default, below the pod's total.)

Retries (`retryStrategy`, Argo v4.0.6 docs/retries.md "Conditional retries"): only when the last try
looks like a preemption, never on a code error (RETRY_EXPRESSION), with exponential backoff.
Storage: every step mounts the team bucket at /data (Cloud Storage FUSE, Workload Identity through the
team KSA); the evaluation report is also an Argo output artifact in that bucket (`gcs` with no key
Secret: Argo v4.0.6 docs/configure-artifact-repository.md, "If it's a GKE cluster, and Workload
Identity is configured, there's no need to create the service account key").
"""

from __future__ import annotations

from components.kubernetes.admission import QUEUE_LABEL
from components.kubernetes.render import TEAM_LABEL, limit_range
from components.model import Platform, datasets, flavors, per_gpu
from components.model.allocatable import Resources
from components.model.flavors import GPU_RESOURCE
from components.model.names import ksa_name, team_bucket_name
from components.model.priorities import priority_class_for
from components.model.quantity import parse_quantity
from components.model.schema import Team
from components.training import contract
from components.training.settings import ENV_STEPS

from .sizing import pod_resources, sidecar_for

PIPELINE = "pipeline"
PIPELINE_QUEUE = "low"  # spot and borrowed capacity: preemption is expected, so every step retries it
ARGO_API = "argoproj.io/v1alpha1"
TRIALS = ("200", "400", "800")  # the fan-out: one training run per step budget (TRAIN_STEPS)
RUN_AS_USER = 1000
STEP_MODULE = f"{contract.PACKAGE}.pipeline"  # components/training/pipeline.py, shipped with the trainer

# What a preempted try looks like to Argo v4.0.6 (the variables of docs/retries.md "Conditional retries":
# lastRetry.exitCode is a string, lastRetry.message the node's message):
# - a spot VM reclaimed or a node drained: GKE's graceful node shutdown ("Spot VMs": pods get the Failed
#   phase and the Terminated reason) sets the pod message "Pod was terminated in response to imminent node
#   shutdown." (Kubernetes "Node Shutdowns"), and operator.go inferFailedReason takes pod.Status.Message
#   as the node's message;
# - the pod gone (Kueue preempting a plain pod deletes it: pod_controller.go `Stop`; a deleted node):
#   operator.go marks the node Error with the message "pod deleted";
# - the SIGTERM of either reached the container: the trainer checkpoints and exits EXIT_INTERRUPTED (75,
#   launch.py); a step that does not handle SIGTERM dies with 128+15 = 143.
# Anything else - a traceback (1), the trainer's bad-configuration exit (2), OOMKilled (137) - is the
# step's own fault and fails the workflow at once. Argo's docs/retries.md example matches the same two
# messages: `lastRetry.message matches 'imminent node shutdown|pod deleted'`.
PREEMPTED_EXIT_CODES = (str(contract.EXIT_INTERRUPTED), "143")
RETRY_EXPRESSION = ("lastRetry.message contains 'imminent node shutdown' || lastRetry.message == 'pod deleted' || "
                    f"lastRetry.exitCode in [{', '.join(repr(c) for c in PREEMPTED_EXIT_CODES)}]")
# docs/retries.md: with both, the policy AND the expression must allow the retry; Always leaves it to the
# expression. `cap` bounds each wait; `maxDuration` is not used: it becomes the pods' deadline.
TRAIN_RETRIES, STEP_RETRIES = 10, 3


def executor_requests(team: Team) -> Resources:
    """What Argo's wait container requests: the team LimitRange's defaultRequest (executor.resources is {})."""
    default = limit_range(team)["spec"]["limits"][0]["defaultRequest"]
    return Resources(int(parse_quantity(default["cpu"]) * 1000), int(parse_quantity(default["memory"]) / 2**20))


def retry_strategy(limit: int) -> dict:
    return {"limit": limit, "retryPolicy": "Always", "expression": RETRY_EXPRESSION,
            "backoff": {"duration": "1m", "factor": 2, "cap": "15m"}}


def _paths() -> dict[str, str]:
    root = contract.CHECKPOINT_MOUNT
    return {"run": f"{root}/pipelines/{{{{workflow.name}}}}", "models": f"{root}/models/{{{{workflow.name}}}}"}


def trial_job(steps: str) -> str:
    """The trial's checkpoint directory name (contract.checkpoint_dir): stable across its retries."""
    return f"{{{{workflow.name}}}}/steps-{steps}"


class _Steps:
    """The step templates of one team's pipeline (all on PIPELINE_QUEUE's first flavor)."""

    def __init__(self, platform: Platform, team: Team, code: str):
        self.platform, self.team, self.code = platform, team, code
        quotas = dict(team.queues.by_class())[PIPELINE_QUEUE]
        self.flavor = flavors(platform)[quotas[0].flavor]
        self.bucket = team_bucket_name(platform, team)

    def gpus(self) -> int:
        return 1 if self.flavor.sharing else self.flavor.gpus_per_node

    def template(self, name: str, container: dict, gpus: int, retries: int, **extra) -> dict:
        share = per_gpu(self.flavor.machine, self.flavor.gpu_units_per_node).times(max(gpus, 1))
        sidecar = sidecar_for(share, self.platform.data)
        resources = pod_resources(share - executor_requests(self.team), gpus, sidecar)
        if not gpus:
            resources["limits"].pop(GPU_RESOURCE)
        bucket = contract.checkpoint_volume(self.bucket)
        bucket["csi"]["volumeAttributes"].update(sidecar.volume_attributes())
        container = {**container, "resources": resources,
                     "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
        volumes = [contract.code_volume(self.code), bucket, *sidecar.volumes()]
        if self.team.datasets is not None:  # the team's Filestore share, read-only, as in its Jobs
            volumes.append({"name": datasets.VOLUME, "persistentVolumeClaim": {"claimName": datasets.CLAIM,
                                                                               "readOnly": True}})
            container["volumeMounts"] = [*container["volumeMounts"], {"name": datasets.VOLUME,
                                                                       "mountPath": datasets.MOUNT_PATH, "readOnly": True}]
        return {
            "name": name,
            **extra,
            "metadata": {"labels": {QUEUE_LABEL: PIPELINE_QUEUE, TEAM_LABEL: self.team.name},
                         "annotations": {**contract.POD_ANNOTATIONS, **sidecar.annotations()}},
            "priorityClassName": priority_class_for(PIPELINE_QUEUE),
            "retryStrategy": retry_strategy(retries),
            "container": container,
            "volumes": volumes,
        }

    def step_container(self, *args: str) -> dict:
        return {"image": contract.IMAGE, "command": [*contract.COMMAND[:2], STEP_MODULE, *args],
                "env": [{"name": "PYTHONPATH", "value": contract.CODE_MOUNT}, {"name": "PYTHONUNBUFFERED", "value": "1"}],
                "volumeMounts": [{"name": contract.CODE_VOLUME, "mountPath": f"{contract.CODE_MOUNT}/{contract.PACKAGE}",
                                  "readOnly": True},
                                 {"name": contract.CHECKPOINT_VOLUME, "mountPath": contract.CHECKPOINT_MOUNT}]}

    def train(self) -> dict:
        gpus = self.gpus()
        steps = "{{inputs.parameters.steps}}"
        container = contract.training_container(trial_job(steps), master_addr="127.0.0.1", procs_per_pod=gpus,
                                                extra_env={ENV_STEPS: steps})
        container.pop("name")  # Argo names a template's container `main` (workflowpod.go createWorkflowPod)
        container.pop("ports")  # one pod: the ranks meet on localhost
        return self.template("train", container, gpus, TRAIN_RETRIES, inputs={"parameters": [{"name": "steps"}]})

    def objects(self) -> list[dict]:
        paths = _paths()
        checkpoints = [contract.checkpoint_dir(trial_job(t)) for t in TRIALS]
        report = f"{paths['run']}/eval.json"
        return [
            self.template("prep", self.step_container("prep", paths["run"], *TRIALS), 0, STEP_RETRIES),
            self.train(),
            self.template("evaluate", self.step_container("evaluate", paths["run"], *checkpoints), 1, STEP_RETRIES,
                          outputs={"artifacts": [{
                              "name": "report", "path": report, "archive": {"none": {}},
                              "gcs": {"bucket": self.bucket, "key": "pipelines/{{workflow.name}}/eval.json"}}]}),
            self.template("publish", self.step_container("publish", report, paths["models"]), 0, STEP_RETRIES),
        ]


def render_pipeline(platform: Platform, team: Team, name: str, code: str) -> dict:
    """The Workflow (create it with `kubectl create -f`: Argo names its pods after it)."""
    steps = _Steps(platform, team, code)
    dag = {"tasks": [
        {"name": "prep", "template": "prep"},
        {"name": "train", "template": "train", "dependencies": ["prep"], "withItems": list(TRIALS),
         "arguments": {"parameters": [{"name": "steps", "value": "{{item}}"}]}},
        {"name": "evaluate", "template": "evaluate", "dependencies": ["train"]},
        {"name": "publish", "template": "publish", "dependencies": ["evaluate"]},
    ]}
    return {
        "apiVersion": ARGO_API, "kind": "Workflow",
        "metadata": {"name": name, "namespace": team.name, "labels": {TEAM_LABEL: team.name}},
        "spec": {
            "entrypoint": "main",
            "serviceAccountName": ksa_name(team),  # Workload Identity: the team GSA, its bucket only
            # Pod Security "restricted" (the team namespaces enforce it), as for Jobs; fsGroup lets the FUSE
            # mount be written by this user (render.py). Argo's own init/wait containers take theirs from
            # the controller's `executor.securityContext`.
            "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER,
                                "fsGroup": RUN_AS_USER, "seccompProfile": {"type": "RuntimeDefault"}},
            # A finished step pod holds no quota (its Workload is finished); failed ones stay for their logs.
            "podGC": {"strategy": "OnPodSuccess"},
            "templates": [{"name": "main", "dag": dag}, *steps.objects()],
        },
    }
