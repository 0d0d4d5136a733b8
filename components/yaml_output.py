"""The manifests the offline plan writes, as yaml.dump_all(..., Dumper=CSafeDumper, sort_keys=False) writes them,
several times faster for plain data.

libyaml emits, but PyYAML's representer turns every value into a node in Python, with an alias check, a type
lookup through the class's MRO and, inside the C serializer, two calls of the resolver's regular expressions
per scalar (half the writing of a 1000-team plan). For the plain data the plan writes (dicts, lists, str, int,
bool, None, no container twice) the nodes are built directly and each scalar's tag resolution is looked up
once per run; anything else takes PyYAML's own path. tests/test_yaml_output.py holds the bytes equal.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

_BASE = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_STR, _INT, _BOOL, _NULL, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "int", "bool", "null", "map", "seq"))


class _NotPlain(Exception):
    """A value the direct path does not build (a float, a tuple, a container met twice: PyYAML anchors it)."""


class PlainDumper(_BASE):
    _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}  # (scalar, implicit) -> tag: a pure function

    def resolve(self, kind, value, implicit):
        if kind is not ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag

    def represent(self, data: Any) -> None:
        if self.sort_keys or self.default_flow_style is not False:
            return super().represent(data)
        try:
            node = _node(data, set())
        except _NotPlain:
            return super().represent(data)
        self.serialize(node)


def _node(value: Any, seen: set[int]):
    """The node SafeRepresenter.represent_data makes (block style, keys in insertion order)."""
    kind = type(value)
    if kind is str:
        return ScalarNode(_STR, value)
    if kind is dict or kind is list:
        if id(value) in seen:
            raise _NotPlain
        seen.add(id(value))
        if kind is dict:
            return MappingNode(_MAP, [(_node(k, seen), _node(v, seen)) for k, v in value.items()], flow_style=False)
        return SequenceNode(_SEQ, [_node(v, seen) for v in value], flow_style=False)
    if kind is bool:
        return ScalarNode(_BOOL, "true" if value else "false")
    if kind is int:
        return ScalarNode(_INT, str(value))
    if value is None:
        return ScalarNode(_NULL, "null")
    raise _NotPlain


def dump_all(documents: Iterable[Any]) -> str:
    """yaml.dump_all(documents, Dumper=CSafeDumper, sort_keys=False)."""
    return yaml.dump_all(documents, Dumper=PlainDumper, sort_keys=False)
