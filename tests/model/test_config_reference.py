"""docs/config-reference.md is generated from the typed schema (components/model/reference.py) and
must be exactly what the generator prints now, so the reference never drifts from the config the
program accepts."""

from __future__ import annotations

from typing import Any

import pytest

from components.model.reference import REGENERATE, keys, render
from components.capture import REPO
from conftest import STACKS, load_stack_config, PLATFORM_KEY

REFERENCE = REPO / "docs" / "config-reference.md"


def test_committed_reference_is_what_the_schema_generates() -> None:
    assert REFERENCE.read_text() == render(), (
        f"docs/config-reference.md is out of date with components/model/schema.py: regenerate it with `{REGENERATE}` "
        "and commit the result")


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path a stack file writes, lists as `[]` (the generator's notation)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}{key}"
            out |= {path} | _paths(item, f"{path}.")
    elif isinstance(value, list):
        for item in value:
            out |= _paths(item, f"{prefix.removesuffix('.')}[].")
    return out


@pytest.mark.parametrize("stack", STACKS)
def test_every_key_a_stack_file_writes_is_in_the_reference(stack: str) -> None:
    """A generator that missed a nesting level (a list of objects, an Optional object) would pass the
    test above; the shipped stack files use nearly every key, so each must be documented."""
    documented = {k.path for k in keys()}
    written = _paths(load_stack_config(stack)[PLATFORM_KEY])
    assert written <= documented, sorted(written - documented)


def test_every_documented_key_has_a_type_and_a_default_or_required() -> None:
    for key in keys():
        assert key.type and key.default, key
