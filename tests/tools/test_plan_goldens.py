"""Golden copy of each stack's full offline plan: every resource with its type, parent, dependencies,
provider, inputs and options, keyed by URN. A change to the program or a stack file shows its whole
effect in review as a diff of tests/tools/__snapshots__/test_plan_goldens/test_full_plan[<stack>].json; a URN that moves
without an alias shows as one resource deleted and another created.

Update after an intended change (then read the diff):
    .venv/bin/python -m pytest tests/tools/test_plan_goldens.py --snapshot-update
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from conftest import STACKS, capture_of, load_stack_config

KEPT = ("type", "parent", "dependencies", "provider", "inputs", "options")


def full_plan(stack: str) -> dict:
    capture = capture_of(load_stack_config(stack), stack)
    return {r.urn: {k: getattr(r, k) for k in KEPT} for r in sorted(capture.resources, key=lambda r: r.urn)}


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)  # one readable JSON file per stack


@pytest.mark.parametrize("stack", STACKS)
def test_full_plan(stack, snapshot_json):
    assert full_plan(stack) == snapshot_json
