"""The pack on a fleet manager: `multikueue-manager-wiring` (policies/gpu_batch_policies/multikueue.py,
Kueue v0.19.2 apis/kueue/v1beta2/multikueue_types.go and multikueue-setup.yaml name the source of each rule)."""

from __future__ import annotations

import copy

import pytest

from components.capture import Capture
from conftest import capture_of, load_stack_config
from policy_support import assert_violation, check, edit, res

T_AC = "kubernetes:kueue.x-k8s.io/v1beta2:AdmissionCheck"
T_MKCONFIG = "kubernetes:kueue.x-k8s.io/v1beta2:MultiKueueConfig"
T_SECRET = "kubernetes:core/v1:Secret"
POLICY = "multikueue-manager-wiring"


@pytest.fixture(scope="module")
def manager_capture() -> Capture:
    return capture_of(load_stack_config("fleet-manager"), "fleet-manager")


@pytest.fixture
def manager(manager_capture) -> Capture:
    return copy.deepcopy(manager_capture)


def test_the_dev_fleet_is_wired(manager):
    assert check(manager, POLICY).for_policy(POLICY) == []


def test_a_dangling_config_and_a_worker_without_a_cluster_are_caught(manager):
    ac = edit(res(manager, T_AC, "multikueue"), lambda p: p["spec"]["parameters"].update(name="multikeue"))
    config = edit(res(manager, T_MKCONFIG, "multikueue"), lambda p: p["spec"].update(clusters=["worker-eu", "worker-asia"]))
    report = check(manager, POLICY)
    assert_violation(report, POLICY, "names MultiKueueConfig 'multikeue', which does not exist", ac.urn)
    assert_violation(report, POLICY, "lists worker 'worker-asia' with no MultiKueueCluster", config.urn)


def test_a_kubeconfig_secret_missing_or_without_its_key_is_caught(manager):
    secret = res(manager, T_SECRET, "worker-eu-kubeconfig")
    edit(secret, lambda p: p.update(stringData={"config": "..."}))
    assert_violation(check(manager, POLICY), POLICY, "has no `kubeconfig` key")
    manager.resources.remove(secret)
    assert_violation(check(manager, POLICY), POLICY, "reads its kubeconfig from Secret 'worker-eu-kubeconfig', which")
