"""Golden copy of what the dev stack applies, so an unintended change shows up in review.

Update after an intended change with: .venv/bin/python -m pytest tests/test_dev_golden.py --snapshot-update
"""

from __future__ import annotations

from collections import Counter

import pytest

from components.offline import run_stack
from components.plan import kubernetes_object, manifest_key


@pytest.fixture(scope="module")
def dev():
    return run_stack("dev")


def test_resource_counts(dev, snapshot):
    assert dict(sorted(Counter(r.type for r in dev.resources).items())) == snapshot


def test_kubernetes_objects(dev, snapshot):
    objects = [o for o in (kubernetes_object(r) for r in dev.resources) if o]
    assert sorted(objects, key=manifest_key) == snapshot


def test_gpu_node_pools(dev, snapshot):
    pools = {r.inputs["name"]: r.inputs for r in dev.of_type("gcp:container/nodePool:NodePool")}
    assert pools == snapshot
