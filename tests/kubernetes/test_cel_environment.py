"""The CEL grammar is built once and then loaded from the user's cache directory (components/kubernetes/cel.py).

Lark 1.3 (`Lark(cache=<path>)`, lark/lark.py) writes the analysed LALR tables to the file with a hash of
the grammar and options first, and loads them back only when the hash matches; anything it cannot read
is rebuilt. These tests run that round trip for real and check the verdicts do not depend on it.
"""

from __future__ import annotations

import lark
import pytest
from celpy import celparser

from components.kubernetes import cel

RULES = [
    ("self.size() <= 3", [1, 2], True),
    ("self.all(x, x > 0)", [1, -1], False),
    ("!has(self.a) || self.a == 'x'", {"a": "x"}, True),
    ("self.startsWith('team-') && true", "team-a", True),
    ("false || self == 'b'", "a", False),
]


def _verdicts() -> list[bool]:
    import celpy
    return [bool(cel.environment().program(cel.environment().compile(rule)).evaluate({"self": celpy.json_to_cel(value)}))
            for rule, value, _ in RULES]


@pytest.fixture
def fresh_grammar(tmp_path, monkeypatch):
    """A process that has not built the grammar yet, with its own cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(celparser.CELParser, "CEL_PARSER", None)
    cel.environment.cache_clear()
    yield tmp_path / cel.CACHE_DIR / "cel-grammar.lark-cache"
    cel.environment.cache_clear()


def test_the_grammar_is_cached_in_the_users_cache_directory_and_loaded_back(fresh_grammar):
    built = _verdicts()
    assert fresh_grammar.is_file() and fresh_grammar.stat().st_size > 10_000
    celparser.CELParser.CEL_PARSER = None
    cel.environment.cache_clear()
    assert _verdicts() == built == [expected for _, _, expected in RULES]


def test_a_corrupt_cache_is_rebuilt_not_trusted(fresh_grammar):
    fresh_grammar.parent.mkdir(parents=True)
    fresh_grammar.write_bytes(b"not a lark cache\n\x80\x04garbage")
    assert _verdicts() == [expected for _, _, expected in RULES]
    assert fresh_grammar.read_bytes()[:16] != b"not a lark cache"


def test_an_unwritable_cache_directory_only_costs_the_build(fresh_grammar, tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _verdicts() == [expected for _, _, expected in RULES]
    assert celparser.Lark is lark.Lark  # the cache option is passed only to the one construction
