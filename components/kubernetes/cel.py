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
from pathlib import Path

import celpy
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
