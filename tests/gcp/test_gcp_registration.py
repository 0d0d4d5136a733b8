"""The per-team GCP resources are registered with exactly the request their typed pulumi-gcp class sends.

components/gcp/registration.py `register` sends a generic CustomResource with wire-named inputs; the typed
classes of the pinned pulumi-gcp (requirements.txt) are the reference. Every call the shipped stacks make
is registered both ways (tests/registration_support.py): the typed class gets the same values under their
Python names, so a misspelled wire name (one the class would not translate back) makes the requests differ.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pytest

from components.capture import run_stack
from components.gcp import registration
from tests.conftest import FLEET_STACKS, STACKS
from tests.registration_support import calls_recorded, requests_of, snake, snake_keys

TYPED = {
    registration.ACCOUNT: gcp.serviceaccount.Account,
    registration.ACCOUNT_IAM_MEMBER: gcp.serviceaccount.IAMMember,
    registration.PROJECT_IAM_MEMBER: gcp.projects.IAMMember,
    registration.BUCKET: gcp.storage.Bucket,
    registration.BUCKET_IAM_MEMBER: gcp.storage.BucketIAMMember,
}


def calls_by_type() -> dict[str, list[tuple[dict, tuple]]]:
    """Each registered call of the shipped stacks, by type: (inputs, outputs read), Outputs made plain strings."""
    with calls_recorded(registration.register) as calls:
        for stack in (*STACKS, *FLEET_STACKS):
            run_stack(stack)
    by_type: dict[str, list[tuple[dict, tuple]]] = {}
    for args, kwargs in calls:
        type_, _, inputs, _ = args[:4]
        plain = {k: (f"{k}-from-another-resource" if isinstance(v, pulumi.Output) else v) for k, v in inputs.items()}
        by_type.setdefault(type_, []).append((plain, tuple(kwargs.get("reads", ()))))
    return by_type


CALLS = calls_by_type()
CASES = [(type_, index) for type_, calls in sorted(CALLS.items()) for index in range(len(calls))
         if calls[index] not in calls[:index]]


def requests(make) -> list:
    return requests_of(make, lambda name, opts: gcp.Provider(name, project="p", opts=opts))


def test_every_type_is_called():
    assert set(CALLS) == set(registration.REGISTERED) == set(TYPED)


@pytest.mark.parametrize("type_,index", CASES, ids=[f"{t.split(':')[-1]}-{i}" for t, i in CASES])
def test_request_is_the_typed_class_request(type_, index):
    inputs, reads = CALLS[type_][index]
    ours = requests(lambda name, opts: registration.register(type_, name, inputs, opts, reads))
    reference = requests(lambda name, opts: TYPED[type_](name, opts=opts, **{snake(k): snake_keys(v) for k, v in inputs.items()}))
    assert [r.type for r in ours] == [r.type for r in reference]
    for mine, theirs in zip(ours, reference):
        assert mine == theirs, f"{mine.type}: {mine} != {theirs}"


def test_reads_are_the_typed_class_outputs():
    """An output the program reads (`account.email`) is one the typed class has."""
    for type_, calls in CALLS.items():
        for _, reads in calls:
            for output in reads:
                assert hasattr(TYPED[type_], snake(output)), (type_, output)


def test_a_type_not_registered_here_is_refused():
    with pytest.raises(ValueError, match="use its pulumi-gcp class"):
        registration.register("gcp:compute/network:Network", "n", {}, pulumi.ResourceOptions())
