"""One CEL environment per process, for the CRD rules and the admission policies.

cel-python builds its Lark LALR grammar on the first `celpy.Environment()` (about 0.2 s, more than a
third of what the dev plan spends above its imports). Lark can pickle that analysis and load it back
(lark 1.3 `Lark(cache=...)`: the file starts with a hash of the grammar, the options and the Lark
version, and a stale or unreadable file is rebuilt, never trusted). The file lives in the user's own
cache directory, not in the shared /tmp that `cache=True` would use: a pickle is code, so it must not
come from a directory anyone can write.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import lark
from celpy import celparser

CACHE_DIR = "gpu-batch-platform"


def _grammar_cache() -> str | None:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / CACHE_DIR
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(base / "cel-grammar.lark-cache")


@functools.cache
def environment() -> celpy.Environment:
    cache = _grammar_cache()
    if cache and celparser.CELParser.CEL_PARSER is None:
        build = celparser.Lark
        celparser.Lark = functools.partial(build, cache=cache)  # the grammar's only construction site
        try:
            celparser.CELParser()
        finally:
            celparser.Lark = build
    return celpy.Environment()


@functools.cache
def program(expression: str) -> celpy.Runner:
    env = environment()
    return env.program(env.compile(expression))


# The single-child chain the grammar wraps around an operand (`has(self.f)`: expr > ... > member > member_dot).
_WRAPPERS = {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member"}


@dataclass(frozen=True)
class SelfFields:
    """Which fields of `self` an expression can observe, when it reads `self` only as `self.<field>`:
    `read` fields by value, `present` ones only through `has(self.<field>)`."""

    read: frozenset[str]
    present: frozenset[str]

    def projection(self, value: Any) -> Any:
        """A value on which the expression evaluates exactly as on `value` (CEL selects a map's field by its key,
        and `has` tests only that the key is there): the fields it reads, and a stand-in for those it only tests."""
        if not isinstance(value, dict):
            return value
        kept = {k: value[k] for k in self.read if k in value}
        return kept | {k: True for k in self.present if k in value and k not in kept}


@functools.cache
def self_fields(expression: str) -> SelfFields | None:
    """The fields of `self` the expression observes, or None when it uses `self` in any other way (the whole value,
    a method or macro on it, an index, `self` rebound by a macro)."""
    read: set[str] = set()
    present: set[str] = set()
    found = _self_references(program(expression).ast, [], read, present)  # the tree the rule runs from
    return SelfFields(frozenset(read), frozenset(present)) if found else None


def _self_references(node: Any, ancestors: list, read: set[str], present: set[str]) -> bool:
    """Walk the parse tree; False as soon as one `self` is not the subject of a field selection."""
    if not isinstance(node, lark.Tree):
        return True
    if node.data == "ident" and node.children and str(node.children[0]) == "self":
        if len(ancestors) < 3:
            return False
        selection, member, primary = ancestors[-3:]  # member_dot(member(primary(ident self)), field)
        if not (primary.data == "primary" and member.data == "member" and selection.data == "member_dot"
                and selection.children[0] is member):
            return False
        (present if _only_tested(ancestors[:-2]) else read).add(str(selection.children[1]))
        return True
    return all(_self_references(child, [*ancestors, node], read, present) for child in node.children)


def _only_tested(chain: list) -> bool:
    """Whether the selection at the end of `chain` is the whole argument of a `has(...)`."""
    index = len(chain) - 1
    while index > 0 and chain[index - 1].data in _WRAPPERS and len(chain[index - 1].children) == 1:
        index -= 1
    if index < 2:
        return False
    exprlist, call = chain[index - 1], chain[index - 2]
    return (exprlist.data == "exprlist" and len(exprlist.children) == 1 and call.data == "ident_arg"
            and str(call.children[0]) == "has")
