"""A CRD rule is evaluated on the part of `self` it can observe (components/kubernetes/cel.py `self_fields`),
so teams' objects that differ only elsewhere share one evaluation. CEL selects a map's field by its key and
`has(m.f)` tests only that the key is there (cel-spec langdef.md, "Field Selection" and "Macros": has), so a
rule that reads `self` only as `self.<field>` cannot tell the projection from the whole value. Held here on
every rule of every vendored CRD, against every value the shipped stacks render and mutations of them.
"""

from __future__ import annotations

import copy
import json

import pytest

from components.kubernetes import cel, crd_validation
from components.kubernetes.manifest_schema import blocks_rules, schema_errors
from tests.kubernetes.test_fast_schema_check import mutants, rendered_objects


@pytest.mark.parametrize("expression,read,present", [
    ("!has(self.cohortName) && has(self.resourceGroups) ? self.resourceGroups.all(rg, rg.flavors.all(f, "
     "f.resources.all(r, !has(r.borrowingLimit)))) : true", {"resourceGroups"}, {"cohortName", "resourceGroups"}),
    ("self.a == 1 && has(self.b)", {"a"}, {"b"}),
    ("has(self.a.b)", {"a"}, set()),
    ("self.a.size() > 0", {"a"}, set()),
    ("true", set(), set()),
])
def test_fields_of_self(expression, read, present):
    assert cel.self_fields(expression) == cel.SelfFields(frozenset(read), frozenset(present))


@pytest.mark.parametrize("expression", ["self.all(x, x > 1)", "size(self) > 1", "self == 1", "self['a'] == 1",
                                        "self.f(1)", "x.all(self, self.a > 1)", "[self.a, self].size() > 0"])
def test_any_other_use_of_self_keeps_the_whole_value(expression):
    assert cel.self_fields(expression) is None


def test_projection_keeps_read_fields_and_stands_in_for_tested_ones():
    fields = cel.SelfFields(frozenset({"a"}), frozenset({"b", "c"}))
    assert fields.projection({"a": [1], "b": {"x": 1}, "d": 2}) == {"a": [1], "b": True}
    assert fields.projection(["not", "a", "map"]) == ["not", "a", "map"]


def _rule_values(objs):
    """(rule, value) for every rule of each object's vendored CRD and every value the rule's location finds."""
    for obj in objs:
        group, _, version = obj["apiVersion"].rpartition("/")
        if group not in crd_validation.CRD_GROUPS:
            continue
        crd = crd_validation.vendored_crd(group, version, obj["kind"])
        if crd is None:
            continue
        defaulted = crd_validation._with_defaults(obj, crd.schema)
        if blocks_rules(schema_errors(crd.schema_check, defaulted)):
            continue  # the API server evaluates no rule of it (tests/kubernetes/test_manifest_validation.py)
        for rule in crd.rules:
            for _, value in crd_validation._locate(defaulted, rule.location, ()):
                yield rule, value


def test_every_rule_gives_the_same_verdict_on_its_projection():
    objs = rendered_objects()
    crd_objs = [o for o in objs if o["apiVersion"].rpartition("/")[0] in crd_validation.CRD_GROUPS]
    cases = list(_rule_values(objs)) + list(_rule_values(m for o in crd_objs for m in mutants(copy.deepcopy(o), 6)))
    projected = failing = 0
    for rule, value in cases:
        if rule.fields is None:
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        whole, part = crd_validation._problem(rule, value), crd_validation._problem(rule, rule.fields.projection(value))
        assert whole == part, (rule.text, value)
        projected += 1
        failing += whole is not None
    # The comparison covers real work: many projected evaluations, some of them failing rules.
    assert projected > 500 and failing > 10, (projected, failing)
