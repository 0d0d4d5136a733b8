"""explain's pod requests (components/explain/workload.py `pod_requests`) against Kubernetes' own cases.

Kueue v0.19.2 builds a pod set's requests with `resources.NewRequestsFromPodSpec` (pkg/resources/factory.go),
which is `resourcehelpers.PodRequests(&Pod{Spec: spec}, PodResourcesOptions{})` from k8s.io/component-helpers
(v0.36.2 in Kueue's go.mod): no status resources, overhead included. The cases below are the spec-only rows
of that package's `TestPodResourceRequests` (staging/src/k8s.io/component-helpers/resource/helpers_test.go,
read through the code index), with their descriptions and expected requests; rows that need container
statuses or pod-level resources do not apply to a spec and are left out. Units: CPU in millicores, memory in
bytes.
"""

from __future__ import annotations

import pytest

from components.explain.workload import pod_requests


def c(cpu: str, name: str = "c", restartable: bool = False) -> dict:
    return {"name": name, "resources": {"requests": {"cpu": cpu}}, **({"restartPolicy": "Always"} if restartable else {})}


CASES = [
    ("nil options, larger init container", {"initContainers": [c("4")], "containers": [c("1")]}, {"cpu": 4000}),
    ("nil options, larger containers", {"initContainers": [c("2")], "containers": [c("2"), c("3")]}, {"cpu": 5000}),
    ("pod overhead included",
     {"overhead": {"cpu": "1", "memory": "1Gi"}, "initContainers": [c("2")], "containers": [c("2"), c("3")]},
     {"cpu": 6000, "memory": 2**30}),
    ("resized, infeasible, but don't use status", {"containers": [c("4")]}, {"cpu": 4000}),
    ("resized, restartable init container, infeasible, but don't use status",
     {"initContainers": [c("4", restartable=True)]}, {"cpu": 4000}),
    ("restartable init container", {"initContainers": [c("1", restartable=True)], "containers": [c("1")]},
     {"cpu": 2000}),
    # max(5, restartable init containers (3+2+1) + regular (1)) = 7
    ("multiple restartable init containers",
     {"initContainers": [c("5"), c("1", restartable=True), c("2", restartable=True), c("3", restartable=True)],
      "containers": [c("1")]}, {"cpu": 7000}),
    # init-2 needs 5 + the restartable init containers started before it (1+2) = 8; the one after it does not count
    ("multiple restartable and regular init containers",
     {"initContainers": [c("5"), c("1", restartable=True), c("2", restartable=True), c("5"),
                         c("3", restartable=True)], "containers": [c("1")]}, {"cpu": 8000}),
    ("restartable-init, init and regular",
     {"initContainers": [c("10", restartable=True), c("200")], "containers": [c("100")]}, {"cpu": 210000}),
]


@pytest.mark.parametrize("description, spec, expected", CASES, ids=[d for d, _, _ in CASES])
def test_pod_requests_agree_with_kubernetes_component_helpers(description, spec, expected):
    assert pod_requests(spec) == expected
