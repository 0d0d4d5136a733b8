"""Every YAML file a user hands the tools (stack files, job files, what-if objects), read as the
Pulumi CLI would read it and within bounds, or refused with file:line and the fix.

- Duplicate mapping keys are refused, as the Pulumi CLI refuses them in a stack file: it decodes
  Pulumi.<stack>.yaml with gopkg.in/yaml.v2 (pulumi/pulumi sdk/go/common/encoding/marshal.go,
  `yamlMarshaler.Unmarshal`), whose decoder fails with `line N: key "k" already set in map`.
  PyYAML silently keeps the last value, so a second `project:` would retarget the whole stack.
  Keys merged in with `<<:` may be overridden (YAML merge-key semantics), as in yaml.v2.
- Bounded: size, nesting depth and the number of nodes after alias expansion are counted on the
  parser's event stream before anything is built, so an alias bomb ("billion laughs") or a
  100,000-deep `[[[[` is refused in milliseconds instead of exhausting memory or the stack.
- A syntax error names where the parser noticed it and, for an unclosed quote or bracket, the line
  where that construct opened (PyYAML's `context_mark`).

libyaml's C parser (yaml.CSafeLoader, shipped in PyYAML's wheels) does the parsing where present; a
text it refuses is parsed again by PyYAML's Python parser, whose messages name the offending character.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from .errors import ConfigError, Issue

MAX_BYTES = 32 * 1024 * 1024  # a 1000-team stack file is about 1 MiB
MAX_DEPTH = 100  # Kubernetes objects nest about 15 deep
MAX_NODES = 2_000_000  # after alias expansion; a 1000-team stack has about 60,000


@dataclass(frozen=True)
class NodeBound:
    """The most values (after alias expansion) a caller's files may hold, with why and the fix, both said in
    the refusal. Counting stops at the bound, so a file far over it is refused in the time of the bound."""
    nodes: int
    why: str
    fix: str


STACK_FILES = NodeBound(MAX_NODES, "aliases of anchors repeat their whole content",
                        "write the values out or use fewer nested aliases")

_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# PyYAML's problem texts, said in words a file's author acts on: (substring, what happened, fix).
YAML_PROBLEMS = (
    ("expected <block end>", "this line's indentation does not line up with the keys above it",
     "indent it exactly like its sibling keys (spaces only)"),
    ("mapping values are not allowed", "a ':' where no key can start",
     "put a space after the key's ':' and quote values that contain ': '"),
    ("could not find expected ':'", "a line inside a mapping is not 'key: value'", "add the ':' or fix the indentation"),
    ("found character '\\t'", "a tab character", "indent with spaces; YAML does not allow tabs"),
    ("found undefined alias", "an alias (*name) without its anchor (&name)", "define the anchor first or write the value out"),
    ("found unexpected end of stream", "a quote or bracket is never closed", "close it"),
    ("expected ',' or ']'", "a [list] that is never closed or has a missing comma", "close it with ] and separate items with ,"),
    ("expected ',' or '}'", "a {mapping} that is never closed or has a missing comma", "close it with } and separate items with ,"),
)


def read_platform_data(path: Path) -> Any:
    """One of the project's own data files (platform/): trusted and small, so only parsed fast."""
    return yaml.load(path.read_text(), Loader=_FAST)


def _at(source: str, mark: Any) -> str:
    return f"{source}:{mark.line + 1}:{mark.column + 1}"


def _syntax_issue(source: str, err: yaml.MarkedYAMLError) -> Issue:
    noticed, opened = err.problem_mark, err.context_mark
    where = _at(source, noticed or opened) if (noticed or opened) else source
    problem = err.problem or str(err).splitlines()[0]
    what, fix = f"YAML syntax error: {problem}", "check indentation (spaces only) and quoting at that line"
    for needle, said, remedy in YAML_PROBLEMS:
        if needle in problem:
            what, fix = f"YAML syntax error: {said}", remedy
            break
    if opened is not None and noticed is not None and opened.line != noticed.line:
        # The construct the parser was inside (a quote, a [list], a {mapping}) began here.
        what += f"; it opened at line {opened.line + 1}" + (f" ({err.context})" if err.context else "")
    return Issue(where, what, fix)


def _check_bounds(text: str, source: str, base: type, bound: NodeBound) -> None:
    """Depth and expanded size from the event stream alone (nothing is built)."""
    sizes: dict[str, int] = {}
    frames: list[list] = [[None, 0]]  # [anchor, nodes so far] per open collection
    total = 0
    for event in yaml.parse(text, Loader=base):
        kind = type(event)
        if kind is yaml.ScalarEvent or kind is yaml.AliasEvent:
            count = 1 if kind is yaml.ScalarEvent else sizes.get(event.anchor, 1)
            if kind is yaml.ScalarEvent and event.anchor:
                sizes[event.anchor] = 1
            frames[-1][1] += count
            total += count
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            frames.append([event.anchor, 1])
            total += 1
            if len(frames) > MAX_DEPTH + 1:
                raise ConfigError([Issue(_at(source, event.start_mark), f"YAML nested more than {MAX_DEPTH} levels deep",
                                         "flatten the document; no stack or job file needs that depth")], source)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            anchor, count = frames.pop()
            if anchor:
                sizes[anchor] = count
            frames[-1][1] += count
        if total > bound.nodes:
            raise ConfigError([Issue(_at(source, event.start_mark),
                                     f"YAML expands to more than {bound.nodes:,} values ({bound.why})", bound.fix)], source)


class _DuplicateKeys:
    """Mixed into a safe loader: records each duplicate key with both lines (raised after loading)."""

    def __init__(self, stream: str):
        super().__init__(stream)  # type: ignore[call-arg]
        self.duplicates: list[tuple[Any, Any, Any]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
            if first is not key_node:
                self.duplicates.append((key, first.start_mark, key_node.start_mark))
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _FastLoader(_DuplicateKeys, _FAST):  # type: ignore[misc, valid-type]
    pass


class _PythonLoader(_DuplicateKeys, yaml.SafeLoader):
    pass


def _parse(text: str, source: str, base: type, loader_class: type, bound: NodeBound) -> tuple[list[Any], list]:
    _check_bounds(text, source, base, bound)
    loader = loader_class(text)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents, loader.duplicates
    finally:
        loader.dispose()


def _documents(text: str, source: str, bound: NodeBound = STACK_FILES) -> Iterator[Any]:
    if len(text) > MAX_BYTES:
        raise ConfigError([Issue(source, f"the file is larger than {MAX_BYTES // 2**20} MiB", "split it")], source)
    try:
        try:
            documents, duplicates = _parse(text, source, _FAST, _FastLoader, bound)
        except yaml.YAMLError:
            if _FAST is yaml.SafeLoader:
                raise
            documents, duplicates = _parse(text, source, yaml.SafeLoader, _PythonLoader, bound)
    except yaml.MarkedYAMLError as err:
        raise ConfigError([_syntax_issue(source, err)], source) from None
    except yaml.YAMLError as err:
        raise ConfigError([Issue(source, f"not YAML: {err}", "save the file as UTF-8 YAML text")], source) from None
    if duplicates:
        raise ConfigError([
            Issue(_at(source, again), f"duplicate key {key!r} (first at line {first.line + 1}); the Pulumi CLI "
                  "refuses a file with duplicate keys and this tool would otherwise keep only the last one",
                  "keep one of the two entries")
            for key, first, again in sorted(duplicates, key=lambda d: d[2].index)], source)
    return iter(documents)


def load(text: str, source: str) -> Any:
    """The one document of a YAML text (None when empty); ConfigError naming source:line otherwise."""
    documents = list(_documents(text, source))
    if len(documents) > 1:
        raise ConfigError([Issue(source, f"{len(documents)} YAML documents where one is expected",
                                 "remove the '---' separators")], source)
    return documents[0] if documents else None


def load_all(text: str, source: str, bound: NodeBound = STACK_FILES) -> list[Any]:
    """Every document of a multi-document YAML text (`---` separated), bounded like `load` (`bound`: a
    caller's lower bound on the values, for files that are never large)."""
    return list(_documents(text, source, bound))


def read_text(path: Path | str) -> str:
    """A user-named file's text: a regular, readable UTF-8 text file within MAX_BYTES, or a ConfigError
    that names it (a FIFO or device would block or never end; binary input would garble every message)."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError([Issue(name, "no such file", "check the path")], name) from None
    except OSError as err:
        raise ConfigError([Issue(name, f"cannot read the file: {err.strerror}", "check the path and its permissions")], name) from None
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a pipe, socket or device)"
        raise ConfigError([Issue(name, f"{what}", "name a YAML file")], name)
    if info.st_size > MAX_BYTES:
        raise ConfigError([Issue(name, f"the file is larger than {MAX_BYTES // 2**20} MiB", "split it")], name)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError([Issue(name, f"cannot read the file: {err.strerror}", "check its permissions")], name) from None
    if b"\0" in data:
        raise ConfigError([Issue(name, "a binary file, not YAML text", "name the YAML file")], name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError([Issue(name, f"not UTF-8 text (byte {err.start})", "save the file as UTF-8")], name) from None
