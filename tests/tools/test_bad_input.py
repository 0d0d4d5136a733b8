"""Bad input, tried as users and attackers would, on every CLI command (plan, policy, explain,
workloads, cost, diff) and every file they read: each is refused clearly (exit 2 and a message that
names the file, key or field and the fix), never a traceback, never a hang, never silently accepted.

Each case runs the real command in-process under a wall-clock bound (SIGALRM): an exception escaping
the CLI counts as a traceback, the bound as a hang, exit 0 as a silent acceptance. The tally is
printed by test_tally.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
import yaml

from components.cli import main as cli
from components.capture import REPO
from conftest import capture_of, load_stack_config

BOUND_S = 20
DEV = (REPO / "Pulumi.dev.yaml").read_text()
PLATFORM = "gpu-batch-platform:platform"


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[Path], list[str]]  # builds the command line (and its files) in a temp dir
    says: str  # a fragment the error output must contain
    code: int = 2
    also: tuple[str, ...] = ()  # more fragments it must contain (file, object)


def _file(name: str, content: bytes | str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path
    return make


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.yaml"
    os.mkfifo(path)
    return path


def _dir(tmp: Path) -> Path:
    path = tmp / "adir.yaml"
    path.mkdir()
    return path


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
DEEP = "a: " + "[" * 5000 + "]" * 5000 + "\n"

# What every file a command reads is tried with: (id, maker, fragment of the refusal).
BAD_FILES = [
    ("missing", lambda tmp: tmp / "nope.yaml", "nope.yaml"),
    ("directory", _dir, "adir.yaml"),
    ("fifo", _fifo, "pipe.yaml"),
    ("device", lambda tmp: Path("/dev/zero"), "/dev/zero"),
    ("binary", _file("bin.yaml", b"\x00\x01\x02\xff" * 64), "bin.yaml"),
    ("not-utf8", _file("latin.yaml", "config:\n  x: caf\xe9\n".encode("latin-1")), "latin.yaml"),
    ("alias-bomb", _file("bomb.yaml", ALIAS_BOMB), "bomb.yaml"),
    ("deep-nesting", _file("deep.yaml", DEEP), "deep.yaml"),
    ("syntax-error", _file("syntax.yaml", "config:\n  a: [1, 2\n  b: 3\n"), "syntax.yaml"),
    ("duplicate-keys", _file("dup.yaml", "config:\n  a: 1\n  a: 2\n"), "dup.yaml"),
]


def _with_platform(change: Callable[[dict], None]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        doc = yaml.safe_load(DEV)
        change(doc["config"][PLATFORM])
        path = tmp / "stack.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path
    return make


def _set(path: str, value) -> Callable[[dict], None]:
    def change(platform: dict) -> None:
        *parents, last = path.split(".")
        node = platform
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


# Config values of the wrong kind, refused at their own path (never coerced): (id, path, value, fragment).
WRONG_VALUES = [
    ("gpus-bool", "teams.0.queues.high.0.gpus", True, "teams[0].queues.high[0].gpus"),
    ("gpus-string", "teams.0.queues.high.0.gpus", "4", "teams[0].queues.high[0].gpus"),
    ("gpus-negative", "teams.0.queues.high.0.gpus", -2, "teams[0].queues.high[0].gpus"),
    ("gpus-float", "teams.0.queues.high.0.gpus", 1.5, "teams[0].queues.high[0].gpus"),
    ("borrowing-negative", "teams.0.queues.high.0.borrowingLimit", -1, "borrowingLimit"),
    ("max-nodes-string", "gpuPools.1.maxNodes", "ten", "gpuPools[1].maxNodes"),
    ("max-nodes-negative", "gpuPools.1.maxNodes", -5, "gpuPools[1].maxNodes"),
    ("accel-count-bool", "gpuPools.0.accelerator.count", True, "gpuPools[0].accelerator.count"),
    ("teams-mapping", "teams", {"team-a": {}}, "teams"),
    ("teams-null", "teams", None, "teams"),
    ("teams-empty", "teams", [], "teams"),
    ("team-name-int", "teams.0.name", 123, "teams[0].name"),
    ("team-name-upper", "teams.0.name", "Team-A", "teams[0].name"),
    ("members-string", "teams.0.members", "user:a@example.com", "teams[0].members"),
    ("member-domain", "teams.0.members", ["domain:example.com"], "teams[0].members[0]"),
    ("member-garbage", "teams.0.members", ["alice"], "teams[0].members[0]"),
    ("zones-string", "zones", "us-central1-a", "zones"),
    ("cidr-int", "network.subnetCidr", 10, "network.subnetCidr"),
    ("cidr-host-bits", "network.subnetCidr", "10.40.0.1/22", "network.subnetCidr"),
    ("open-control-plane", "network.authorizedNetworks.1.cidr", "0.0.0.0/0", "authorizedNetworks[1].cidr"),
    ("wide-public-network", "network.authorizedNetworks.1.cidr", "198.51.0.0/16", "authorizedNetworks[1].cidr"),
    ("deletion-protection-string", "cluster.deletionProtection", "yes", "cluster.deletionProtection"),
    ("private-endpoint-int", "cluster.privateEndpoint", 1, "cluster.privateEndpoint"),
    ("project-null", "project", None, "project"),
    ("project-bad", "project", "My Project", "project"),
    ("unknown-key", "clusterr", {}, "clusterr"),
    ("environment-bad", "environment", "staging", "environment"),
    ("team-kube-system", "teams.0.name", "kube-system", "teams[0].name"),
    ("team-nodes", "teams.0.name", "nodes", "teams[0].name"),
    ("team-gke", "teams.0.name", "gke-metrics", "teams[0].name"),
    ("replicas-zero", "controllers.replicas", 0, "controllers.replicas"),
    ("monitoring-retention-string", "monitoring.retentionDays", "15d", "monitoring.retentionDays"),
    ("pool-provisioning-bad", "gpuPools.1.provisioning", "preemptible", "gpuPools[1].provisioning"),
    ("platform-list", None, ["a"], "platform"),
    ("platform-string", None, "text", "platform"),
]


def _platform_value(value) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        doc = yaml.safe_load(DEV)
        doc["config"][PLATFORM] = value
        path = tmp / "stack.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path
    return make


JOB = {"apiVersion": "batch/v1", "kind": "Job",
       "metadata": {"name": "mine", "namespace": "team-a", "labels": {"kueue.x-k8s.io/queue-name": "high"}},
       "spec": {"template": {"spec": {"restartPolicy": "Never", "priorityClassName": "high",
                                      "containers": [{"name": "main", "image": "python:3.12",
                                                      "resources": {"limits": {"nvidia.com/gpu": "2"}}}]}}}}


def _job(change: Callable[[dict], None]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        obj = json.loads(json.dumps(JOB))
        change(obj)
        path = tmp / "job.yaml"
        path.write_text(yaml.safe_dump(obj))
        return path
    return make


def _container(**fields) -> Callable[[dict], None]:
    return lambda obj: obj["spec"]["template"]["spec"]["containers"][0].update(fields)


def _deployment(spec) -> Callable[[Path], Path]:
    return _file("job.yaml", yaml.safe_dump({"apiVersion": "apps/v1", "kind": "Deployment",
                                              "metadata": {"name": "srv", "namespace": "team-a"}, "spec": spec}))


def _jobset(replicas, gpus: str) -> Callable[[Path], Path]:
    return _file("job.yaml", yaml.safe_dump({
        "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "js", "namespace": "team-a"},
        "spec": {"replicatedJobs": [{"name": "w", "replicas": replicas, "template": {"spec": {"template": {"spec": {
            "containers": [{"name": "m", "image": "x", "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}}}}]}}))


_POD = {"containers": [{"name": "m", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}
_MINE = ("job.yaml", "Job team-a/mine")  # file and object a Job case's refusal names
_C0 = "spec.template.spec.containers[0].resources"

# Job files for explain: (id, maker, fragment[, also]). Shapes the API server cannot decode, and every
# negative count or quantity, exit 2 naming the file, the object and the field path.
BAD_JOBS = [
    ("a-string", _file("job.yaml", "just text\n"), "job.yaml"),
    ("a-list-document", _file("job.yaml", "- a\n- b\n"), "job.yaml"),
    ("empty-file", _file("job.yaml", ""), "job.yaml"),
    ("kind-List", _file("job.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [JOB]})), "List"),
    ("kind-Pod", _file("job.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                                   "spec": JOB["spec"]["template"]["spec"]})), "Pod"),
    ("no-kind", _job(lambda o: o.pop("kind")), "kind"),
    ("metadata-string", _job(lambda o: o.update(metadata="x")), "metadata"),
    ("spec-missing", _job(lambda o: o.pop("spec")), "spec"),
    ("template-list", _job(lambda o: o["spec"].update(template=[])), "template"),
    ("containers-empty", _job(lambda o: o["spec"]["template"]["spec"].update(containers=[])), "containers"),
    ("containers-mapping", _job(lambda o: o["spec"]["template"]["spec"].update(containers={"name": "x"})), "containers"),
    ("container-string", _job(lambda o: o["spec"]["template"]["spec"].update(containers=["main"])), "containers[0]"),
    ("gpu-limit-garbage", _job(_container(resources={"limits": {"nvidia.com/gpu": "lots"}})), "nvidia.com/gpu", _MINE),
    ("gpu-limit-negative", _job(_container(resources={"limits": {"nvidia.com/gpu": "-2"}})),
     f"{_C0}.limits[nvidia.com/gpu] is -2", _MINE),
    ("cpu-negative", _job(_container(resources={"requests": {"cpu": "-1"}, "limits": {"nvidia.com/gpu": "1"}})),
     f"{_C0}.requests[cpu] is -1", _MINE),
    ("memory-negative", _job(_container(resources={"requests": {"memory": "-4Gi"}, "limits": {"nvidia.com/gpu": "1"}})),
     f"{_C0}.requests[memory] is -4Gi", _MINE),
    ("cpu-limit-negative-millis", _job(_container(resources={"limits": {"cpu": "-500m", "nvidia.com/gpu": "1"}})),
     f"{_C0}.limits[cpu] is -500m", _MINE),
    ("init-container-negative", _job(lambda o: o["spec"]["template"]["spec"].update(initContainers=[
        {"name": "i", "image": "x", "resources": {"requests": {"cpu": "-2"}}}])),
     "spec.template.spec.initContainers[0].resources.requests[cpu] is -2", _MINE),
    ("memory-bool", _job(_container(resources={"requests": {"memory": True}, "limits": {"nvidia.com/gpu": "1"}})), "memory"),
    ("resources-list", _job(_container(resources=["gpu"])), "resources"),
    ("parallelism-string", _job(lambda o: o["spec"].update(parallelism="two")), "spec.parallelism", _MINE),
    ("parallelism-negative", _job(lambda o: o["spec"].update(parallelism=-1)), "spec.parallelism is -1", _MINE),
    ("completions-negative", _job(lambda o: o["spec"].update(completions=-3)), "spec.completions is -3", _MINE),
    ("negative-says-the-fix", _job(lambda o: o["spec"].update(completions=-3)), "fix: set it to 0 or more", _MINE),
    ("jobset-replicas-negative", _jobset(-2, "1"), "spec.replicatedJobs[0].replicas is -2", ("job.yaml", "JobSet team-a/js")),
    ("jobset-gpu-negative", _jobset(1, "-1"),
     "spec.replicatedJobs[0].template.spec.template.spec.containers[0].resources.limits[nvidia.com/gpu] is -1",
     ("job.yaml", "JobSet team-a/js")),
    ("deployment-replicas-negative", _deployment({"replicas": -1, "template": {"spec": _POD}}), "spec.replicas is -1",
     ("job.yaml", "Deployment team-a/srv")),
    ("deployment-spec-string", _deployment("x"), "spec is a string", ("job.yaml", "Deployment team-a/srv")),
    ("deployment-containers-string", _deployment({"template": {"spec": {"containers": "x"}}}),
     "spec.template.spec.containers is a string", ("job.yaml", "Deployment team-a/srv")),
    ("deployment-replicas-string", _deployment({"replicas": "2", "template": {"spec": _POD}}), "spec.replicas is a string"),
    ("labels-list", _job(lambda o: o["metadata"].update(labels=["a"])), "labels"),
    ("jobset-no-replicated-jobs", _file("job.yaml", yaml.safe_dump({
        "apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "js", "namespace": "team-a"},
        "spec": {"replicatedJobs": "none"}})), "replicatedJobs"),
]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for fid, make, says in BAD_FILES:
        cases += [
            Case(f"cost-config-file-{fid}", lambda t, m=make: ["cost", "dev", "--config-file", str(m(t))], says),
            Case(f"policy-config-file-{fid}", lambda t, m=make: ["policy", "dev", "--config-file", str(m(t))], says),
            Case(f"explain-file-{fid}", lambda t, m=make: ["explain", "dev", str(m(t))], says),
            Case(f"diff-new-file-{fid}", lambda t, m=make: ["diff", "Pulumi.dev.yaml", str(m(t))], says),
        ]
    for fid, make, says in BAD_FILES[:5] + BAD_FILES[6:7]:
        cases += [
            Case(f"policy-policy-config-{fid}", lambda t, m=make: ["policy", "dev", "--policy-config", str(m(t))], says),
            Case(f"explain-running-{fid}", lambda t, m=make: [
                "explain", "dev", "--team", "team-a", "--kind", "high", "--running", str(m(t))], says),
        ]
    for vid, path, value, says in WRONG_VALUES:
        make = _platform_value(value) if path is None else _with_platform(_set(path, value))
        cases.append(Case(f"cost-value-{vid}", lambda t, m=make: ["cost", "dev", "--config-file", str(m(t))], says))
    for vid, path, value, says in WRONG_VALUES[:4]:
        make = _with_platform(_set(path, value))
        cases.append(Case(f"policy-value-{vid}", lambda t, m=make: ["policy", "dev", "--config-file", str(m(t))], says))
    for jid, make, says, *also in BAD_JOBS:
        cases.append(Case(f"explain-job-{jid}", lambda t, m=make: ["explain", "dev", str(m(t))], says,
                          also=tuple(*also)))
    cases += [
        Case("plan-unknown-stack", lambda t: ["plan", "nosuch"], "nosuch"),
        Case("plan-out-is-a-file", lambda t: ["plan", "dev", "--out", str(_file("f", "x")(t))], "--out"),
        Case("plan-out-unwritable", lambda t: ["plan", "dev", "--out", "/proc/forbidden"], "/proc/forbidden"),
        Case("cost-unknown-stack", lambda t: ["cost", "nosuch"], "nosuch"),
        Case("policy-unknown-stack", lambda t: ["policy", "nosuch"], "nosuch"),
        Case("policy-config-bad-json", lambda t: ["policy", "dev", "--policy-config", str(_file("p.json", "{oops")(t))], "p.json"),
        Case("policy-config-unknown-policy", lambda t: ["policy", "dev", "--policy-config", str(_file(
            "p.json", '{"no-such-policy": "mandatory"}')(t))], "no-such-policy"),
        Case("policy-view-bad", lambda t: ["policy", "dev", "--view", "sideways"], "sideways"),
        Case("workloads-unknown-team", lambda t: ["workloads", "dev", "--team", "nobody", "--kind", "high"], "nobody"),
        Case("workloads-kind-not-granted", lambda t: ["workloads", "dev", "--team", "team-c", "--kind", "dws"], "dws"),
        Case("workloads-bad-kind", lambda t: ["workloads", "dev", "--team", "team-a", "--kind", "huge"], "huge"),
        Case("workloads-all-without-out", lambda t: ["workloads", "dev", "--all"], "--out"),
        Case("workloads-out-unwritable", lambda t: ["workloads", "dev", "--all", "--out", "/proc/forbidden"], "/proc/forbidden"),
        Case("workloads-bad-name", lambda t: ["workloads", "dev", "--team", "team-a", "--kind", "high", "--name", "Bad_Name"],
             "Bad_Name"),
        Case("explain-no-file-no-team", lambda t: ["explain", "dev"], "--team"),
        Case("explain-used-garbage", lambda t: ["explain", "dev", "--team", "team-a", "--kind", "high", "--used", "nope"],
             "nope"),
        Case("explain-namespace-missing", lambda t: ["explain", "dev", str(_job(
            lambda o: o["metadata"].update(namespace="team-zz"))(t))], "team-zz", code=1),
        Case("diff-unknown-revision", lambda t: ["diff", "no-such-revision-xyz"], "no-such-revision-xyz"),
        Case("diff-out-unwritable", lambda t: ["diff", "Pulumi.dev.yaml", "Pulumi.dev.yaml", "--out", "/proc/x/y.md"],
             "/proc/x/y.md"),
        Case("unknown-command", lambda t: ["deploy"], "deploy"),
        # Size: 3000 teams, each borrowing without a cohort, are all reported (linear time) within the bound.
        Case("cost-huge-config", lambda t: ["cost", "dev", "--config-file", str(_with_platform(lambda p: p.update(teams=[
            {"name": f"t{i}", "queues": {"low": [{"flavor": "l4-spot", "gpus": 0, "borrowingLimit": 1}]}}
            for i in range(3000)]))(t))], "teams[2999].queues.low[0].borrowingLimit"),
    ]
    return cases


CASES = _cases()
RESULTS: dict[str, str] = {}


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


@pytest.fixture
def served(monkeypatch, dev_capture):
    """Commands that run the program on the dev stack get the session's capture (speed only); any other
    config still runs the real program."""
    import components.cli.stack as stack_module
    real = stack_module.run_stack

    def run(stack):
        if stack.config == load_stack_config("dev"):
            return dev_capture
        return real(stack)

    monkeypatch.setattr(stack_module, "run_stack", run)
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_clearly(case: Case, tmp_path, capsys, served):
    refused_clearly(case, tmp_path, capsys)


def refused_clearly(case: Case, tmp_path, capsys) -> None:
    """Run `case` under the bound; fail on a traceback, a hang, exit 0 or a message missing a fragment."""
    argv = case.argv(tmp_path)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(BOUND_S)
    try:
        code = cli(argv)
    except _Hang:
        RESULTS[case.id] = "hang"
        pytest.fail(f"{argv} ran past {BOUND_S}s")
    except BaseException as err:  # noqa: BLE001 - any escape is a traceback for the user
        RESULTS[case.id] = "traceback"
        raise AssertionError(f"{argv} raised {type(err).__name__}: {err}") from err
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out = capsys.readouterr()
    if code == 0:
        RESULTS[case.id] = "accepted"
        pytest.fail(f"{argv} exited 0 (silently accepted)")
    RESULTS[case.id] = "refused"
    assert code == case.code, f"{argv}: exit {code}\n{out.err}"
    assert "Traceback" not in out.err + out.out
    for fragment in (case.says, *case.also):
        assert fragment in out.err + out.out, f"{argv}: message does not name {fragment!r}:\n{out.err}{out.out}"


def test_tally():
    """At least 100 inputs across every command."""
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)
    assert {c.id.split("-")[0] for c in CASES} >= {"plan", "policy", "explain", "workloads", "cost", "diff"}
