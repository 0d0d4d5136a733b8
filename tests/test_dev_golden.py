"""Golden copy of what the dev stack applies, so an unintended change shows up in review.

Update after an intended change with: .venv/bin/python -m pytest tests/test_dev_golden.py --snapshot-update
"""

from __future__ import annotations

from collections import Counter

import pytest

from components.plan import kubernetes_object, manifest_key


@pytest.fixture(scope="module")
def dev(dev_capture):
    """The dev stack as run_stack("dev") runs it (the same config): conftest's one session capture."""
    return dev_capture


def test_resource_counts(dev, snapshot):
    assert dict(sorted(Counter(r.type for r in dev.resources).items())) == snapshot


def test_kubernetes_objects(dev, snapshot):
    objects = [o for o in (kubernetes_object(r) for r in dev.resources) if o]
    assert sorted(objects, key=manifest_key) == snapshot


def test_gpu_node_pools(dev, snapshot):
    pools = {r.name: r.inputs for r in dev.of_type("gcp:container/nodePool:NodePool")}
    assert pools == snapshot


def test_urns_are_stable(dev, snapshot):
    """Every URN of the dev stack. Pulumi identifies a resource by its URN (type, parent chain, name):
    a URN that changes without an `aliases` entry is a delete plus a create in a real stack
    (https://www.pulumi.com/docs/iac/concepts/options/aliases/), e.g. renaming a component would
    replace every team namespace. A diff here must come with an alias, or be a new resource."""
    assert sorted(r.urn for r in dev.resources) == snapshot
