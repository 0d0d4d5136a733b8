"""components/yaml_output.py writes exactly the bytes of yaml.dump_all(..., Dumper=CSafeDumper, sort_keys=False)."""

from __future__ import annotations

from collections import defaultdict

import pytest
import yaml

from components import plan, yaml_output

REFERENCE = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Strings the resolver reads as another type (so they must be quoted), strings the emitter must quote, fold or
# escape, and the other scalar types.
TRICKY = ["true", "True", "no", "yes", "on", "off", "y", "n", "1", "-1", "1.0", "1e3", ".inf", "-.Inf", ".nan", "0x1F",
          "0o17", "017", "1_000", "null", "Null", "~", "", " ", "2024-01-01", "2024-01-01T10:00:00Z", "12:30:00",
          "- a", "a: b", "a:b", "#x", "x #y", "&a", "*a", "!tag", "%x", "@x", "`x", "|", ">", "'", '"', "{a}", "[a]",
          "multi\nline", "ends\n", "trailing ", " leading", "tab\there", "é", "日本", "\u2028", "\x07bell", "🙂",
          "word " * 40, "x" * 200, "<<", "=", "?", "-", "---", "...", 0, -7, 2 ** 63, True, False, None]


def reference(documents) -> str:
    return yaml.dump_all(documents, Dumper=REFERENCE, sort_keys=False)


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_each_tricky_scalar_as_key_value_and_item(value):
    documents = [{"v": value}, [value], {"nested": {"list": [value, {"k": value}]}}, value]
    if isinstance(value, str):
        documents.append({value: value})
    assert yaml_output.dump_all(documents) == reference(documents)


def test_empty_containers_and_order():
    documents = [{}, [], {"b": {}, "a": [], "c": [[], {}]}, {"z": 1, "a": 2}]
    assert yaml_output.dump_all(documents) == reference(documents)


def test_values_outside_plain_data_take_pyyaml_s_own_path():
    shared = {"labels": {"a": "b"}}
    for documents in ([{"f": 1.5}], [{"t": (1, 2)}], [{"x": shared, "y": shared}], [{"b": b"bytes"}]):
        assert yaml_output.dump_all(documents) == reference(documents)
    assert "&id001" in yaml_output.dump_all([{"x": shared, "y": shared}])


def test_every_manifest_a_shipped_stack_writes(stack_capture):
    by_kind = defaultdict(list)
    for resource in stack_capture.resources:
        obj = plan.kubernetes_object(resource)
        if obj:
            by_kind[obj["kind"]].append(obj)
    assert len(by_kind) > 10
    for kind, objs in by_kind.items():
        objs.sort(key=plan.manifest_key)
        assert yaml_output.dump_all(objs) == reference(objs), kind
