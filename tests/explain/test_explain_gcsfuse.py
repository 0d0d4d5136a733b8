"""Kueue's quota counts GKE's Cloud Storage FUSE sidecar in a plain pod's Workload (components/explain/gcsfuse.py).

Behaviour relied on:
- Kueue v0.19.2 pkg/controller/jobs/pod/pod_controller.go `constructPodSet`: a plain pod's Workload has one
  pod set `main` of count 1 whose template is the Pod's own spec, the pod as stored after every mutating
  webhook (an Argo step pod, a Deployment replica); a Job's Workload comes from its template, which never
  holds the sidecar (tests/gcp/test_team_data.py).
- GoogleCloudPlatform/gcs-fuse-csi-driver pkg/webhook: a pod annotated `gke-gcsfuse/volumes: "true"` gets
  the container `gke-gcsfuse-sidecar` (sidecar_spec.go GcsFuseSidecarName), a native sidecar
  (restartPolicy Always) in initContainers after istio-proxy, else first (injection.go
  injectSidecarContainer, getInjectIndexAfterContainer); a container the user gave that name is replaced
  (ExtractImageAndDeleteContainer); its securityContext is restricted (GetSecurityContext); its requests
  are the `gke-gcsfuse/*-request` annotations, else 250m CPU / 256Mi memory (GKE "Configure the Cloud
  Storage FUSE CSI driver sidecar container", "Configure resources for the sidecar container";
  cmd/webhook/main.go defaults).
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from components.cli import main as cli
from components.cli.explain import _argo_executor
from components.explain import from_capture, from_object
from components.explain.gcsfuse import SIDECAR_NAME, with_gcsfuse_sidecar
from components.explain.pod_security import violations
from components.explain.quantity import parse
from components.explain.workflow import workflow_steps
from components.explain.workload import pod_requests
from components.model import flavors, parse_platform, per_gpu
from components.workloads import render
from components.workloads.pipeline import executor_requests
from conftest import load_dev_platform_raw

DEV = parse_platform(load_dev_platform_raw())
TEAM_D = next(t for t in DEV.teams if t.name == "team-d")
FUSE = {"gke-gcsfuse/volumes": "true", "gke-gcsfuse/cpu-request": "500m", "gke-gcsfuse/memory-request": "1Gi"}
REQUESTS = re.compile(r"requests after LimitRange defaults: main 1 pod\(s\) x cpu (\d+)m, memory (\d+)Mi")


@pytest.fixture
def executor(dev_capture) -> dict:
    """The installed Argo chart's executor values: the step pods' init/wait containers take them."""
    found = _argo_executor(dev_capture)
    if found is None:
        pytest.skip("the dev stack installs no Argo Workflows chart in this tree")
    return found


def _workflow() -> dict:
    return next(o for o in render(DEV, "team-d", "pipeline") if o["kind"] == "Workflow")


def test_the_sidecar_is_injected_as_gkes_webhook_stores_it():
    spec = {"containers": [{"name": "main"}, {"name": SIDECAR_NAME, "image": "mine"}],
            "initContainers": [{"name": "istio-proxy", "restartPolicy": "Always"}, {"name": "init"}]}
    out = with_gcsfuse_sidecar(spec, FUSE)
    assert [c["name"] for c in out["containers"]] == ["main"]
    assert [c["name"] for c in out["initContainers"]] == ["istio-proxy", SIDECAR_NAME, "init"]
    sidecar = out["initContainers"][1]
    assert sidecar["restartPolicy"] == "Always" and sidecar["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert with_gcsfuse_sidecar(out, FUSE) == out  # idempotent: placement may apply it again
    defaults = with_gcsfuse_sidecar({"containers": [{"name": "main"}]}, {"gke-gcsfuse/volumes": "true"})
    assert defaults["initContainers"][0]["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert with_gcsfuse_sidecar(spec, {"gke-gcsfuse/volumes": "false"}) is spec
    # It runs next to the containers and next to every init container after it.
    assert pod_requests(out) == {"cpu": 500, "memory": 2**30}
    assert pod_requests(with_gcsfuse_sidecar({"containers": [{"name": "main", "resources": {"requests": {"cpu": "1"}}}],
                                              "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2"}}}]},
                                             FUSE))["cpu"] == 2500


def test_every_step_pod_of_the_dev_pipeline_carries_the_sidecar_kueue_counts(executor):
    """Each step pod's Workload holds the sidecar its annotations ask for, and with it (and Argo's wait
    container at the LimitRange default) a GPU step is exactly its node share: what the quota counts."""
    for step in workflow_steps(_workflow(), executor=executor):
        [pod_set] = step.workloads[0].pod_sets
        sidecar = next(c for c in pod_set.spec["initContainers"] if c["name"] == SIDECAR_NAME)
        assert sidecar["resources"]["requests"] == {r: pod_set.annotations[f"gke-gcsfuse/{r}-request"]
                                                    for r in ("cpu", "memory")}, step.task
        assert violations(pod_set.spec, "restricted", step.task) == []


def test_explain_shows_the_dev_pipelines_steps_at_their_node_share(executor, capsys):
    assert cli(["explain", "dev", "--team", "team-d", "--kind", "pipeline"]) == 0
    out = capsys.readouterr().out
    flavor = flavors(DEV)[TEAM_D.queues.low[0].flavor]
    share = per_gpu(flavor.machine, flavor.gpu_units_per_node)
    seen = []
    for stage in out.split("\n[stage ")[1:]:
        gpus = re.search(r"nvidia\.com/gpu (\d+)", stage)
        times = int(gpus.group(1)) if gpus else 1
        cpu, memory = map(int, REQUESTS.search(stage).groups())
        assert (cpu, memory) == (share.cpu_millis * times, share.memory_mib * times), stage[:80]
        seen.append(times)
    assert seen == [1, 2, 1, 1]


def _memory_quota(cluster, queue: str) -> dict[str, int]:
    """Bytes of memory a ClusterQueue can hold per flavor: nominal quota + borrowing limit."""
    cq = next(o for o in cluster.objects if o.get("kind") == "ClusterQueue" and o["metadata"]["name"] == queue)
    out = {}
    for group in cq["spec"]["resourceGroups"]:
        for f in group["flavors"]:
            memory = next(r for r in f["resources"] if r["name"] == "memory")
            out[f["name"]] = parse("memory", memory["nominalQuota"]) + parse("memory", memory.get("borrowingLimit", "0"))
    return out


def test_a_fan_out_that_fits_only_without_the_sidecar_waits(executor, dev_capture, tmp_path, capsys):
    """A hand-made memory-heavy CPU step fanned out over exactly as many pods as team-d's low queue holds
    when the sidecar is left out: Kueue counts the sidecar's memory, so the last pod(s) wait for quota."""
    wf = _workflow()
    step = next(t for t in wf["spec"]["templates"] if t["name"] == "prep")
    step["container"]["resources"] = {"requests": {"cpu": "1", "memory": "30Gi"}, "limits": {"memory": "30Gi"}}
    sidecar = parse("memory", step["metadata"]["annotations"]["gke-gcsfuse/memory-request"])
    wait = executor_requests(TEAM_D).memory_mib * 2**20
    quota = _memory_quota(from_capture(dev_capture), "team-d-low")
    without = 30 * 2**30 + wait
    fit_without = sum(q // without for q in quota.values())
    fit_with = sum(q // (without + sidecar) for q in quota.values())
    assert fit_with < fit_without  # the premise: only the sidecar makes the difference
    main = next(t for t in wf["spec"]["templates"] if t["name"] == "main")
    prep = next(t for t in main["dag"]["tasks"] if t["name"] == "prep")
    main["dag"]["tasks"] = [{**prep, "withItems": list(range(fit_without))}]
    path = tmp_path / "fan-out.yaml"
    path.write_text(yaml.safe_dump(wf, sort_keys=False))
    assert cli(["explain", "dev", str(path)]) == 1
    out = capsys.readouterr().out
    cpu, memory = map(int, REQUESTS.search(out).groups())
    assert memory * 2**20 == without + sidecar
    statuses = [m.group(1) for m in re.finditer(r"^(?:pod \d+: )?(ADMITTED|PENDING)", out, re.M)]
    assert statuses == ["ADMITTED"] * fit_with + ["PENDING"] * (fit_without - fit_with)
    assert "insufficient unused quota for memory" in out


def test_a_model_server_replica_counts_the_sidecar_too():
    """A Deployment replica is a plain pod as well (Kueue v0.19.2 deployment.md): its pod set holds the
    sidecar, and the replica the platform renders is then exactly its GPUs' node share."""
    deployment = next(o for o in render(DEV, "team-c", "serving") if o["kind"] == "Deployment")
    [pod_set] = from_object(deployment).pod_sets
    assert [c["name"] for c in pod_set.spec["initContainers"]][:1] == [SIDECAR_NAME]
    team_c = next(t for t in DEV.teams if t.name == "team-c")
    flavor = flavors(DEV)[team_c.queues.serving[0].flavor]
    share = per_gpu(flavor.machine, flavor.gpu_units_per_node).times(team_c.serving.gpus_per_replica)
    requests = pod_requests(pod_set.spec)
    assert (requests["cpu"], requests["memory"]) == (share.cpu_millis, share.memory_mib * 2**20)
    untouched = copy.deepcopy(deployment)
    untouched["spec"]["template"]["metadata"]["annotations"]["gke-gcsfuse/volumes"] = "false"
    assert SIDECAR_NAME not in str(from_object(untouched).pod_sets[0].spec)
