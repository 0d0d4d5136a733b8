"""A fleet across regions (MultiKueue): the model, the manager's and the worker's objects, the wiring.

Each test of upstream behaviour names its source in kubernetes-sigs/kueue at v0.19.2 (the pinned
version): the setup page site/content/en/docs/tasks/manage/setup_multikueue.md and the files it
includes (site/static/examples/multikueue/multikueue-setup.yaml, create-multikueue-kubeconfig.sh),
apis/kueue/v1beta2/multikueue_types.go, apis/config/v1beta2/configuration_types.go and
pkg/controller/admissionchecks/multikueue/multikueuecluster.go.
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from components.kubernetes import controller_config, multikueue, render
from components.capture import MOCK_NAT_ADDRESS
from components.gcp.fleet import NAT_OUTPUT
from components.kubernetes.fleet_layer import KUBECONFIG_OUTPUT, bearer_token, worker_kubeconfig
from components.kubernetes.layer import validate_manifests
from components.kubernetes.manifest_validation import ManifestError, is_validated, validate_all
from components.model import fleet, parse_platform
from components.model.fleet import agreement_issues
from components.model.fleet_agreement import counterpart_issues
from conftest import FLEET_STACKS, PLATFORM_KEY, REPO, STACKS, assert_issue, capture_of, config_error, load_stack_config


def _raw(stack: str) -> dict:
    return load_stack_config(stack)[PLATFORM_KEY]


def _platform(stack: str, mutate=None):
    raw = _raw(stack)
    if mutate:
        mutate(raw)
    return parse_platform(raw, f"Pulumi.{stack}.yaml")


@pytest.fixture(scope="module")
def manager():
    return _platform("fleet-manager")


@pytest.fixture(scope="module")
def worker():
    return _platform("fleet-worker-eu")


@pytest.fixture(scope="module")
def captures():
    return {stack: capture_of(load_stack_config(stack), stack) for stack in FLEET_STACKS}


# ------------------------------------------------------------------ a single cluster stays as it is


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_without_fleet_has_no_multikueue(stack):
    platform = _platform(stack)
    assert platform.fleet is None
    assert multikueue.fleet_objects(platform, {}) == []
    assert "multiKueue" not in controller_config.kueue_manager_config(platform)
    for team in platform.teams:
        assert all("admissionChecksStrategy" not in q["spec"] for q in render.team_cluster_queues(platform, team))
    assert fleet.data_buckets(platform) == {}


# ------------------------------------------------------------------ the manager's objects


def test_manager_objects_have_the_shape_kueue_documents(manager):
    """site/static/examples/multikueue/multikueue-setup.yaml (included by setup_multikueue.md "Create a sample
    setup"): an AdmissionCheck with controllerName kueue.x-k8s.io/multikueue whose parameters name a
    kueue.x-k8s.io MultiKueueConfig, the config listing MultiKueueClusters, each with
    clusterSource.kubeConfig {locationType: Secret, location: <secret>}; the Secret lives "in the namespace
    the kueue controller manager runs into, holding the kubeConfig ... in the \"kubeconfig\" key"."""
    objs = {(o["kind"], o["metadata"]["name"]): o for o in multikueue.manager_objects(manager, {"worker-eu": "kc"})}
    check = objs[("AdmissionCheck", "multikueue")]
    assert check["spec"] == {"controllerName": "kueue.x-k8s.io/multikueue",
                             "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "MultiKueueConfig", "name": "multikueue"}}
    assert objs[("MultiKueueConfig", "multikueue")]["spec"] == {"clusters": ["worker-eu"]}
    source = objs[("MultiKueueCluster", "worker-eu")]["spec"]["clusterSource"]["kubeConfig"]
    assert source == {"locationType": "Secret", "location": "worker-eu-kubeconfig"}
    secret = objs[("Secret", "worker-eu-kubeconfig")]
    assert secret["metadata"]["namespace"] == render.KUEUE_NAMESPACE == "kueue-system"
    assert secret["stringData"] == {"kubeconfig": "kc"}


def test_workers_are_listed_in_order_of_preference(manager):
    """multikueue_types.go MultiKueueConfigSpec.Clusters: "The order of the list is significant: the
    Incremental dispatcher nominates clusters following this order"."""
    two = manager.model_copy(update={"fleet": manager.fleet.model_copy(update={"workers": [
        *manager.fleet.workers, manager.fleet.workers[0].model_copy(update={"name": "worker-asia", "stack": "w-asia"})]})})
    assert multikueue.multikueue_config(two)["spec"]["clusters"] == ["worker-eu", "worker-asia"]


def test_only_the_dispatched_classes_carry_the_admission_check(manager):
    """multikueue-setup.yaml: the ClusterQueue whose jobs are delegated lists the check under
    `admissionChecksStrategy.admissionChecks` (v1beta2; v1beta1's `admissionChecks` would be pruned)."""
    for team in manager.teams:
        by_class = {q["metadata"]["labels"]["batch-platform/class"]: q["spec"] for q in render.team_cluster_queues(manager, team)}
        assert by_class["low"]["admissionChecksStrategy"] == {"admissionChecks": [{"name": "multikueue"}]}
        assert "admissionChecksStrategy" not in by_class["high"]


def test_manager_configuration_sets_multikueue(manager):
    """configuration_types.go MultiKueue: `origin` is the label the garbage collector uses to find the
    remote objects this manager created (default "multikueue" for every manager), `workerLostTimeout`,
    and `dispatcherName` one of the two built-in dispatchers
    (MultiKueueDispatcherModeAllAtOnce / MultiKueueDispatcherModeIncremental)."""
    config = controller_config.kueue_manager_config(manager)["multiKueue"]
    assert config == {"origin": "fleet-mgr", "workerLostTimeout": "15m",
                      "dispatcherName": "kueue.x-k8s.io/multikueue-dispatcher-incremental"}
    all_at_once = manager.model_copy(update={"fleet": manager.fleet.model_copy(update={"dispatcher": "AllAtOnce"})})
    assert controller_config.kueue_manager_config(all_at_once)["multiKueue"]["dispatcherName"] == \
        "kueue.x-k8s.io/multikueue-dispatcher-all-at-once"


def test_every_fleet_object_is_validated_against_the_vendored_crds(manager, worker):
    objs = multikueue.fleet_objects(manager, multikueue.stand_in_kubeconfigs(manager)) + multikueue.fleet_objects(worker, {})
    validate_all(objs)
    assert all(is_validated(o) for o in objs if o["apiVersion"].startswith("kueue.x-k8s.io"))
    assert {o["kind"] for o in objs} >= {"MultiKueueConfig", "MultiKueueCluster", "AdmissionCheck"}


def test_the_vendored_multikueue_rules_are_enforced(manager):
    """config/components/crd/bases/kueue.x-k8s.io_multikueueconfigs.yaml: spec.clusters "must be unique"
    (CEL) and holds at most 20; _multikueueclusters.yaml: kubeConfig.locationType is Secret or Path."""
    config = multikueue.multikueue_config(manager)
    config["spec"]["clusters"] = ["worker-eu", "worker-eu"]
    with pytest.raises(ManifestError, match="must be unique"):
        validate_all([config])
    config["spec"]["clusters"] = [f"w{i}" for i in range(21)]
    with pytest.raises(ManifestError):
        validate_all([config])
    cluster = multikueue.multikueue_cluster(manager.fleet.workers[0])
    cluster["spec"]["clusterSource"]["kubeConfig"]["locationType"] = "ConfigMap"
    with pytest.raises(ManifestError):
        validate_all([cluster])


# ------------------------------------------------------------------ the worker's side

# create-multikueue-kubeconfig.sh's ClusterRole rules for the kinds the platform runs (the script also
# grants pods, StatefulSets, LeaderWorkerSets, Kubeflow, Ray and AppWrapper, which the platform does not run).
SCRIPT_RULES = {
    ("batch", "jobs"): {"create", "delete", "get", "list", "watch"},
    ("batch", "jobs/status"): {"get"},
    ("jobset.x-k8s.io", "jobsets"): {"create", "delete", "get", "list", "watch"},
    ("jobset.x-k8s.io", "jobsets/status"): {"get"},
    ("kueue.x-k8s.io", "workloads"): {"create", "delete", "get", "list", "watch", "update", "patch"},
    ("kueue.x-k8s.io", "clusterqueues"): {"get", "list", "watch"},
    ("kueue.x-k8s.io", "localqueues"): {"get", "list", "watch"},
    ("kueue.x-k8s.io", "workloads/status"): {"get", "patch", "update"},
}


def test_the_manager_identity_on_a_worker_is_the_documented_role_for_our_kinds(worker):
    """setup_multikueue.md "MultiKueue Specific Kubeconfig": "the manager cluster needs to be able to create,
    delete, and watch workloads and their parent Jobs"; the role is create-multikueue-kubeconfig.sh's."""
    account, role, binding, token = multikueue.worker_objects(worker)
    granted = {(g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == SCRIPT_RULES
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "kueue-system"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    # The script's token: a kubernetes.io/service-account-token Secret annotated with the account.
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"] == {"kubernetes.io/service-account.name": account["metadata"]["name"]}
    validate_all([account, role, binding, token])


def test_the_kubeconfig_handed_to_the_manager_carries_a_token_not_an_exec_plugin():
    """multikueuecluster.go validateKubeConfig: "exec plugins are not allowed", nor tokenFile/auth providers;
    a bearer token in the kubeconfig is what the script writes (`user: {token: ...}`)."""
    config = json.loads(worker_kubeconfig("gke-w", "203.0.113.20", "Y2E=", "t0ken"))
    (user,) = config["users"]
    assert user["user"] == {"token": "t0ken"}
    assert config["clusters"][0]["cluster"]["server"] == "https://203.0.113.20"


def test_a_worker_admits_the_manager_nat_address_read_from_the_manager_stack(captures):
    """The manager's NAT uses one reserved address (RouterNat MANUAL_ONLY with nat_ips, pulumi-gcp 10.2.0
    compute.RouterNat: "nat_ips: Self-links of NAT IPs. Only valid if natIpAllocateOption is set to MANUAL_ONLY")
    exported as `natAddresses`; the worker reads that output through a StackReference (the mock engine
    answers it with the address the mocked manager reserves, components/capture.py MOCK_NAT_ADDRESS)."""
    manager = captures["fleet-manager"]
    (address,) = manager.of_type("gcp:compute/address:Address")
    (nat,) = manager.of_type("gcp:compute/routerNat:RouterNat")
    assert nat.inputs["natIpAllocateOption"] == "MANUAL_ONLY"
    assert nat.inputs["natIps"] == [f"projects/my-gpu-batch-dev/regions/us-central1/addresses/{address.inputs['name']}"]
    assert manager.stack_outputs[NAT_OUTPUT] == [f"{MOCK_NAT_ADDRESS}/32"]
    worker = captures["fleet-worker-eu"]
    cluster = worker.of_type("gcp:container/cluster:Cluster")[0]
    blocks = cluster.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert {"cidrBlock": f"{MOCK_NAT_ADDRESS}/32", "displayName": "multikueue manager fleet-manager"} in blocks
    # A single-cluster stack and the worker keep Google's auto-allocated NAT addresses.
    assert worker.of_type("gcp:compute/routerNat:RouterNat")[0].inputs["natIpAllocateOption"] == "AUTO_ONLY"
    assert not worker.of_type("gcp:compute/address:Address")


def test_a_worker_exports_a_kubeconfig_with_the_token_of_its_created_secret(captures):
    """pulumi-kubernetes provider/pkg/await/awaiters.go untilCoreV1SecretInitialized (v4.32.0; the pinned 4.34.2
    is later): a kubernetes.io/service-account-token Secret is not created until its data map is non-empty, so
    the created Secret's outputs carry the token the token controller filled (no read-back that could race it).
    Kueue's create-multikueue-kubeconfig.sh reads the same field: `kubectl get secret ... {.data['token']} | base64 -d`."""
    worker = captures["fleet-worker-eu"]
    names = [r.name for r in worker.of_type("kubernetes:core/v1:Secret")]
    assert "fleet-token" in names and "fleet-token-filled" not in names  # created, never read back
    config = json.loads(worker.stack_outputs[KUBECONFIG_OUTPUT])
    assert config["users"][0]["user"] == {"token": "mock-token"}
    assert worker.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    with pytest.raises(ValueError, match="has no token"):
        bearer_token({})
    assert bearer_token({"token": base64.b64encode(b"t0ken").decode()}) == "t0ken"


def test_the_manager_reads_each_worker_stack(captures):
    capture = captures["fleet-manager"]
    # The Secret holds the referenced stack's export (components/capture.py's mock names the stack it read).
    secret = capture.named("fleet-worker-eu-kubeconfig", "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == {
        "kubeconfig": "# kubeconfig exported by stack organization/gpu-batch-platform/fleet-worker-eu\n"}
    custom = {r.type.rpartition(":")[2] for r in capture.resources if r.type.startswith("kubernetes:kueue.x-k8s.io")}
    assert {"MultiKueueCluster", "MultiKueueConfig", "AdmissionCheck"} <= custom


# ------------------------------------------------------------------ config mistakes


def test_fleet_mistakes_are_one_error_each_with_a_fix():
    def no_workers(raw):
        raw["fleet"]["workers"] = []
    assert_issue(config_error(_with("fleet-manager", no_workers)), "fleet.workers", "at least one worker")

    def no_manager(raw):
        del raw["fleet"]["manager"]
    assert_issue(config_error(_with("fleet-worker-eu", no_manager)), "fleet.manager", "must name its manager")

    def private(raw):
        raw["cluster"]["privateEndpoint"] = True
        raw["network"]["authorizedNetworks"] = [{"name": "vpc", "cidr": "10.70.0.0/22"}]
    assert_issue(config_error(_with("fleet-worker-eu", private)), "cluster.privateEndpoint", "reachable by the manager")

    def nothing_to_dispatch(raw):
        raw["fleet"]["dispatch"] = ["low", "compact"]
    assert_issue(config_error(_with("fleet-manager", nothing_to_dispatch)), "fleet.dispatch[1]", "no team has a 'compact'")

    def twice(raw):
        raw["fleet"]["workers"] *= 2
    assert_issue(config_error(_with("fleet-manager", twice)), "fleet.workers", "more than once", fix="list each once")


def _with(stack: str, mutate) -> dict:
    raw = _raw(stack)
    mutate(raw)
    return raw


# ------------------------------------------------------------------ manager and worker agree


def test_the_dev_fleet_agrees(manager, worker):
    assert agreement_issues(manager, worker) == []


def test_a_worker_missing_a_dispatched_queue_or_on_another_kueue_disagrees(manager, worker):
    """setup_multikueue.md "In the Worker Cluster": "it expects that the job's namespace and LocalQueue also
    exist in the worker cluster"."""
    # Built past the config checks (a one-team cohort, an unvendored Kueue): only agreement is under test.
    other = worker.model_copy(update={"teams": worker.teams[:1],
                                      "versions": worker.versions.model_copy(update={"kueue": "0.19.1"})})
    issues = agreement_issues(manager, other)
    assert [(i.path, i.message.split(" but")[0]) for i in issues] == [
        ("fleet.quota.low", "team team-b dispatches 'low'"),
        ("versions.kueue", "the worker runs Kueue 0.19.1, the manager 0.19.2")]


def test_fleet_stack_files_plan_offline(cli_plan):
    for stack in FLEET_STACKS:
        code, _, err, out = cli_plan(stack)
        assert code == 0, err
        manifests = out / stack / "manifests"
        if stack == "fleet-manager":
            assert yaml.safe_load((manifests / "MultiKueueConfig.yaml").read_text())["spec"]["clusters"] == ["worker-eu"]


def test_the_documented_rotation_replaces_the_worker_token_that_exists(captures):
    """docs/design.md "Rotating the worker's credential" names the token Secret's URN; it must be the real one."""
    text = (REPO / "docs" / "design.md").read_text()
    urn = text.split("--replace '", 1)[1].split("'", 1)[0]
    token = captures["fleet-worker-eu"].by_urn()[urn]
    assert token.inputs["type"] == "kubernetes.io/service-account-token"


def test_a_team_with_datasets_keeps_its_work_in_region():
    """docs/design.md "A fleet": Filestore is reachable only inside the stack's VPC, so a team with datasets
    cannot have a class dispatched to another region."""
    def datasets(raw):
        raw["teams"][1]["datasets"] = {"sizeGi": 1024}
    issue = assert_issue(config_error(_with("fleet-manager", datasets)), "teams[1].datasets",
                         "team-b's Filestore datasets are reachable only in us-central1")
    assert issue.fix == "remove low from fleet.dispatch, or drop the team's queues.low"


def test_a_dispatched_job_reads_the_manager_bucket_as_the_worker_team_identity(manager, captures):
    """MultiKueue copies the Job to the worker as it was submitted (Kueue v0.19.2 multikueue.md "Job Flow" 2: "The
    manager creates a copy of the Job in the selected worker cluster"), so its Cloud Storage FUSE volume still names the
    manager's team bucket; on the worker the pod runs as the same KSA, which Workload Identity maps to the
    worker stack's team GSA. That GSA gets object access on the manager's bucket, and nothing wider."""
    from components.workloads.render import render as render_job

    (job, *_) = [o for o in render_job(manager, "team-a", "low") if o["kind"] in ("Job", "JobSet")]
    volumes = job["spec"]["template"]["spec"]["volumes"] if job["kind"] == "Job" else \
        job["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["volumes"]
    (named,) = [v["csi"]["volumeAttributes"]["bucketName"] for v in volumes if "csi" in v]
    grants = {r.inputs["bucket"]: r.inputs for r in captures["fleet-worker-eu"].of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert grants[named]["role"] == "roles/storage.objectUser"
    assert grants[named]["member"] == "serviceAccount:fleet-eu-team-a@my-gpu-batch-dev.iam.gserviceaccount.com"
    # The manager grants nothing across stacks; a single-cluster stack neither.
    assert all(r.inputs["bucket"].startswith("my-gpu-batch-dev-fleet-mgr-") and "fleet-mgr-team" in r.inputs["member"]
               for r in captures["fleet-manager"].of_type("gcp:storage/bucketIAMMember:BucketIAMMember"))


def _files(tmp_path, mutate_manager=None, mutate_worker=None):
    """Both fleet stack files in a directory, each optionally changed; returns (manager, worker) platforms read
    from there (the worker's teams derived from that manager's file)."""
    for stack, mutate in (("fleet-manager", mutate_manager), ("fleet-worker-eu", mutate_worker)):
        document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
        if mutate:
            mutate(document["config"][PLATFORM_KEY])
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    return [parse_platform(yaml.safe_load((tmp_path / f"Pulumi.{stack}.yaml").read_text())["config"][PLATFORM_KEY],
                           f"Pulumi.{stack}.yaml", tmp_path) for stack in ("fleet-manager", "fleet-worker-eu")]


# ------------------------------------------------------------------ the worker's queues are derived


def test_the_worker_mirrors_the_manager_dispatched_teams_with_its_own_quota(manager, worker):
    """setup_multikueue.md "In the Worker Cluster": "the worker cluster configuration mirrors the one of the
    manager cluster in terms of namespaces and LocalQueues": the worker's file lists no team; every team the
    manager dispatches a class for gets its namespace, cohort, members and that class's queue, with the quota
    the worker states for its region."""
    assert "teams" not in _raw("fleet-worker-eu")
    assert [(t.name, t.cohort) for t in worker.teams] == [(t.name, t.cohort) for t in manager.teams]
    for team in worker.teams:
        assert [cls for cls, quotas in team.queues.by_class() if quotas] == ["low"]  # high stays on the manager
        assert team.queues.low == _platform("fleet-worker-eu").teams[0].queues.low
    assert fleet.manager_platform(worker) == manager
    for here, there in zip(manager.teams, worker.teams):  # the same namespace and `low` LocalQueue on both sides
        assert render.namespace(here)["metadata"]["name"] == render.namespace(there)["metadata"]["name"]
        low = lambda team: [q for q in render.team_local_queues(team) if q["metadata"]["name"] == "low"]  # noqa: E731
        assert low(here) == low(there) != []


def test_a_team_may_have_its_own_quota_in_the_region_and_limits_need_two_teams(tmp_path):
    def one_team_dispatches(raw):
        raw["teams"][1]["queues"].pop("low")
        raw["teams"][0]["queues"]["low"] = [{"flavor": "l4-spot", "gpus": 16}]

    def own(raw):
        raw["fleet"]["teamQuota"] = {"team-a": {"low": [{"flavor": "l4-spot", "gpus": 16, "borrowingLimit": 4}]}}
    _, worker = _files(tmp_path, one_team_dispatches, own)
    (team,) = worker.teams
    # A cohort of one derived team lends to no one, so it is dropped with its limits (Kueue refuses
    # borrowingLimit without a cohort: checks_queues.py).
    assert (team.name, team.cohort) == ("team-a", None)
    assert [(q.gpus, q.borrowing_limit) for q in team.queues.low] == [(16, None)]


def test_worker_quota_mistakes_point_at_the_worker_file_key():
    def teams_listed(raw):
        raw["teams"] = [{"name": "team-a", "queues": {"low": [{"flavor": "l4-spot", "gpus": 8}]}}]
    assert_issue(config_error(_with("fleet-worker-eu", teams_listed)), "teams", "derived from its manager's stack file")

    def no_quota(raw):
        del raw["fleet"]["quota"]
    assert_issue(config_error(_with("fleet-worker-eu", no_quota)), "fleet.quota.low",
                 "the manager dispatches team-a's 'low' work but this worker states no quota")

    def not_dispatched(raw):
        raw["fleet"]["quota"]["high"] = [{"flavor": "l4-spot", "gpus": 2}]
    assert_issue(config_error(_with("fleet-worker-eu", not_dispatched)), "fleet.quota.high", "dispatches no 'high' work")

    def unknown_team(raw):
        raw["fleet"]["teamQuota"] = {"team-z": {"low": [{"flavor": "l4-spot", "gpus": 2}]}}
    assert_issue(config_error(_with("fleet-worker-eu", unknown_team)), "fleet.teamQuota.team-z", "no work of a team 'team-z'")

    def unknown_flavor(raw):  # found by the usual queue checks on the derived team, reported at the quota key
        raw["fleet"]["quota"]["low"][0]["flavor"] = "a100-spot"
    issue = assert_issue(config_error(_with("fleet-worker-eu", unknown_flavor)), "fleet.quota.low[0].flavor", "a100-spot")
    assert "(team team-a, derived from the manager)" in issue.message

    def on_a_manager(raw):
        raw["fleet"]["quota"] = {"low": [{"flavor": "l4-spot", "gpus": 2}]}
    assert_issue(config_error(_with("fleet-manager", on_a_manager)), "fleet.quota", "only a worker states")


def test_a_worker_without_its_manager_file_is_refused(tmp_path):
    document = yaml.safe_load((REPO / "Pulumi.fleet-worker-eu.yaml").read_text())
    from components.model import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_platform(document["config"][PLATFORM_KEY], "Pulumi.fleet-worker-eu.yaml", tmp_path)
    (issue,) = info.value.issues
    assert issue.path == "fleet.manager.stack" and "Pulumi.fleet-manager.yaml, which is not in" in issue.message


def test_each_side_is_checked_against_the_other_stack_file(tmp_path):
    manager, worker = _files(tmp_path)
    assert counterpart_issues(manager, tmp_path) == counterpart_issues(worker, tmp_path) == []

    def both_dispatch_high(raw):
        raw["fleet"]["dispatch"] = ["low", "high"]
    # The manager's file changed and the worker's did not: the worker is now refused on its own (it states no
    # quota for the newly dispatched class), and the manager says so when it reads the worker's file.
    with pytest.raises(Exception) as info:
        _files(tmp_path, both_dispatch_high)
    assert info.value.issues[0].path == "fleet.quota.high"
    manager = parse_platform(yaml.safe_load((tmp_path / "Pulumi.fleet-manager.yaml").read_text())["config"][PLATFORM_KEY])
    (broken,) = counterpart_issues(manager, tmp_path)
    assert broken.path == "Pulumi.fleet-worker-eu.yaml" and "fleet.quota.high" in broken.message
    assert "plan fleet-worker-eu" in broken.fix


def test_the_program_refuses_a_manager_its_worker_file_does_not_mirror():
    """What `pulumi preview` of the manager does (components/platform.py load_platform), with the real
    Pulumi.fleet-worker-eu.yaml next to it (derived from the manager's file as it is on disk)."""
    from components.model import ConfigError

    config = load_stack_config("fleet-manager")
    config[PLATFORM_KEY]["fleet"]["dispatch"] = ["low", "high"]
    with pytest.raises(ConfigError) as info:
        capture_of(config, "fleet-manager")
    assert_issue(info.value, "fleet.workers[0]", "worker worker-eu (Pulumi.fleet-worker-eu.yaml, fleet.quota.high)",
                 fix="in Pulumi.fleet-worker-eu.yaml: add quota.high on the worker's own flavors")


def _with_dws(raw):
    raw["gpuPools"].append({"name": "l4-dws", "machineType": "g2-standard-24", "provisioning": "dws", "maxNodes": 4,
                            "accelerator": {"type": "nvidia-l4", "count": 2}})
    raw["dws"] = {"flavor": "l4-dws", "gpus": 8}
    if "teams" in raw:
        raw["teams"][0]["dws"] = True


def test_dispatched_dws_jobs_are_provisioned_by_the_worker(tmp_path):
    """site/content/en/docs/concepts/multikueue.md (v0.19.2), "Job Flow" note: "Workloads are only deleted from
    non-selected worker clusters after a Workload is fully admitted (quota reserved AND all admission checks
    satisfied). This allows parallel ProvisioningRequests across worker clusters." So the manager's DWS queue
    only carries the MultiKueue check; each worker's own DWS queue carries its ProvisioningRequest check."""
    def dispatch_dws(raw):
        _with_dws(raw)
        raw["fleet"]["dispatch"] = ["low", "dws"]
    manager, on_worker = _files(tmp_path, dispatch_dws, _with_dws)
    queue = next(o for o in render.dws_objects(manager) if o["kind"] == "ClusterQueue")
    assert queue["spec"]["admissionChecksStrategy"] == {"admissionChecks": [{"name": "multikueue"}]}
    validate_manifests(manager)  # every object of such a manager still passes the vendored schemas
    assert [t.name for t in on_worker.teams if t.dws] == ["team-a"]  # the grant is derived from the manager
    worker_queue = next(o for o in render.dws_objects(on_worker) if o["kind"] == "ClusterQueue")
    assert worker_queue["spec"]["admissionChecksStrategy"]["admissionChecks"][0]["name"] == "dws"
    assert agreement_issues(manager, on_worker) == []
    # The worker's own DWS pool and section stay data: without them it cannot provision for the manager.
    without = on_worker.model_copy(update={"dws": None})
    (issue,) = agreement_issues(manager, without)
    assert (issue.path, issue.message) == ("dws", "the manager dispatches DWS jobs of team-a but the worker has no dws section")
    not_dispatched = _platform("fleet-manager", _with_dws)
    queue = next(o for o in render.dws_objects(not_dispatched) if o["kind"] == "ClusterQueue")
    assert queue["spec"]["admissionChecksStrategy"]["admissionChecks"] == [{"name": "dws", "onFlavors": ["l4-dws"]}]


def test_the_manager_quota_should_equal_the_workers_total(manager, worker, tmp_path):
    """multikueue.md "Manager Cluster": "Ideally, the quota in the manager cluster should equal the total quota
    available in all worker clusters"; the dev fleet does (low: 2 x 8 GPUs on each side)."""
    from components.model.fleet import quota_warnings

    assert quota_warnings(manager, [worker]) == []
    (warning,) = quota_warnings(manager, [worker, worker])
    assert warning == ("fleet.dispatch: the manager's low queues hold 16 nominal GPUs but its workers' hold 32: the "
                       "workers stay partly idle (Kueue: the manager's quota should equal the workers' total)")

    def less(raw):
        for team in raw["teams"]:
            team["queues"]["low"] = [{"flavor": "l4-spot", "gpus": 6, "borrowingLimit": 6}]
    # The program says it while planning the manager (a warning: Kueue calls it the ideal, not a rule).
    config = load_stack_config("fleet-manager")
    less(config[PLATFORM_KEY])
    capture = capture_of(config, "fleet-manager")
    assert [w for w in capture.warnings if w.startswith("fleet.dispatch:")] == [
        "fleet.dispatch: the manager's low queues hold 12 nominal GPUs but its workers' hold 16: the workers stay "
        "partly idle (Kueue: the manager's quota should equal the workers' total)"]
