"""Every YAML file a user hands the tools is read as the Pulumi CLI reads it, and within bounds.

Sources encoded:
- pulumi/pulumi sdk/go/common/encoding/marshal.go (`yamlMarshaler.Unmarshal`): stack files are decoded
  with gopkg.in/yaml.v2, whose decoder (decode.go, `d.mapping`) fails on a repeated mapping key with
  `line N: key "k" already set in map`; YAML merge keys (`<<`) may be overridden by explicit keys
  (yaml.org/type/merge.html), which yaml.v2 also accepts.
- PyYAML's MarkedYAMLError: `context_mark` is where the construct being parsed (a quoted scalar, a
  flow sequence or mapping) began, `problem_mark` where the parser noticed the problem.
"""

from __future__ import annotations

import os

import pytest

import components.stacks
from components.cli import main as cli
from components.model import ConfigError
from components.model import yaml_input
from conftest import DEV_STACK_FILE


def _issue(text: str):
    with pytest.raises(ConfigError) as err:
        yaml_input.load_all(text, "f.yaml")
    [issue] = err.value.issues
    return issue


def test_duplicate_key_names_both_lines():
    issue = _issue("config:\n  a: 1\n  project: x\n  b: 2\n  project: y\n")
    assert issue.path == "f.yaml:5:3"
    assert "duplicate key 'project' (first at line 3)" in issue.message


def test_every_duplicate_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        yaml_input.load("a: {x: 1, x: 2}\nb: 1\nb: 2\n", "f.yaml")
    assert [i.path for i in err.value.issues] == ["f.yaml:1:11", "f.yaml:3:1"]


def test_keys_equal_as_values_are_duplicates():
    # yaml.v2 compares decoded keys: `true` and `True` are the same boolean key.
    assert "duplicate key True" in _issue("true: 1\nTrue: 2\n").message


def test_merge_key_may_be_overridden():
    assert yaml_input.load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n", "f.yaml")["m"] == {"x": 3, "y": 2}


def test_duplicate_project_in_dev_stack_is_refused_by_plan(tmp_path, monkeypatch, capsys):
    """The user's path: a second `project:` in the platform block would have retargeted the stack."""
    text = DEV_STACK_FILE.read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("project:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines.insert(at + 1, f"{indent}project: someone-elses-project")
    (tmp_path / "Pulumi.dup.yaml").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(components.stacks, "REPO", tmp_path)
    assert cli(["plan", "dup", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"Pulumi.dup.yaml:{at + 2}:{len(indent) + 1}: duplicate key 'project' (first at line {at + 1})" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_alias_bomb_is_refused_before_expansion():
    # Eight levels of ten aliases: 10**8 values if expanded; refused from the event stream alone.
    levels = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 9):
        levels.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    issue = _issue("\n".join(levels) + "\n")
    assert "YAML expands to more than 2,000,000 values" in issue.message


def test_nesting_depth_is_bounded():
    issue = _issue("[" * 100_000)
    assert issue.path == "f.yaml:1:101" and "nested more than 100 levels" in issue.message


@pytest.mark.parametrize("text, noticed, opened, what", [
    ("config:\n  a: [1, 2,\n  b: 3\n  c: 4\n", "f.yaml:4:4", 2, "a [list] that is never closed"),
    ("config:\n  a: {x: 1,\n  b: 3\n", "f.yaml:4:1", 2, "a {mapping} that is never closed"),
    ('config:\n  a: "abc\n  b: 3\n  c: 4\n', "f.yaml:5:1", 2, "a quote or bracket is never closed"),
])
def test_unclosed_construct_names_the_line_it_opened(text, noticed, opened, what):
    issue = _issue(text)
    assert issue.path == noticed
    assert what in issue.message and f"it opened at line {opened}" in issue.message


def test_several_documents_where_one_is_expected():
    assert "2 YAML documents where one is expected" in _issue_one("a: 1\n---\nb: 2\n").message


def _issue_one(text: str):
    with pytest.raises(ConfigError) as err:
        yaml_input.load(text, "f.yaml")
    return err.value.issues[0]


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "a directory"),
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.write_bytes(b"\x00\x01binary"), "a binary file"),
    (lambda p: p.write_bytes(b"a: \xff\xfe\n"), "not UTF-8 text"),
])
def test_unreadable_inputs_are_named(tmp_path, make, message):
    path = tmp_path / "input.yaml"
    make(path)
    with pytest.raises(ConfigError) as err:
        yaml_input.read_text(path)
    [issue] = err.value.issues
    assert issue.path == str(path) and message in issue.message
