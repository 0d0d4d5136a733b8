"""`make plan` on any broken stack file exits 2 with a message, never a traceback.

Each kind of failure is fed through the real CLI (`python -m components.cli plan`) from a stack file on
disk: YAML syntax, a missing file, the platform block under the wrong key or level, a Kubernetes
object the vendored CRD schema rejects, and an unexpected exception inside the program.
"""

from __future__ import annotations

import pytest
import yaml

import components.stacks
import components.platform
from components.cli import main as cli
from components.kubernetes.manifest_validation import validate_all
from conftest import PLATFORM_KEY, load_dev_config, load_dev_platform_raw


@pytest.fixture
def stack_dir(tmp_path, monkeypatch):
    """Stack files are read from tmp_path; returns a writer: write(text) -> runs plan, returns (code, stderr)."""
    monkeypatch.setattr(components.stacks, "REPO", tmp_path)

    def plan_of(text: str, capsys) -> tuple[int, str]:
        (tmp_path / "Pulumi.broken.yaml").write_text(text)
        code = cli(["plan", "broken", "--out", str(tmp_path / "out")])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert not (tmp_path / "out" / "broken" / "resources.json").exists(), "nothing may be written"
        return code, err

    return plan_of


def _dump(config: dict) -> str:
    return yaml.safe_dump({"config": config}, sort_keys=False)


def test_yaml_syntax_error_names_file_line_and_column(stack_dir, capsys):
    text = _dump(load_dev_config()).replace("    region: us-central1", "   region: us-central1")
    code, err = stack_dir(text, capsys)
    line = text.splitlines().index("   region: us-central1") + 1
    assert code == 2
    assert f"Pulumi.broken.yaml:{line}:4: YAML syntax error: this line's indentation does not line up" in err


def test_tab_indentation_is_named(stack_dir, capsys):
    code, err = stack_dir("config:\n\tgpu-batch-platform:platform: {}\n", capsys)
    assert code == 2 and "Pulumi.broken.yaml:2:1: YAML syntax error: a tab character" in err


def test_missing_stack_file(capsys, tmp_path):
    assert cli(["plan", "absent", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stack file Pulumi.absent.yaml" in err and "known: Pulumi.dev.yaml" in err


@pytest.mark.parametrize("config, path, message, fix", [
    ({"gpu-batch-platform:platfrom": "BLOCK"}, "gpu-batch-platform:platfrom", "unknown config key",
     "did you mean gpu-batch-platform:platform?"),
    ({"gpu-batch:platform": "BLOCK"}, "gpu-batch:platform", "under project namespace 'gpu-batch'",
     "rename the key to gpu-batch-platform:platform"),
    ({"platform": "BLOCK"}, "platform", "under no project namespace", "rename the key to gpu-batch-platform:platform"),
    ({"gpu-batch-platform": {"platform": "BLOCK"}}, "gpu-batch-platform.platform", "nested under 'gpu-batch-platform'",
     "write it as one key: gpu-batch-platform:platform:"),
    ({"gpu-batch-platform:config": "BLOCK"}, "gpu-batch-platform:config", "holds the platform keys",
     "rename the key to gpu-batch-platform:platform"),
    ("FLAT", "gpu-batch-platform:cluster", "set one by one at the top of config:", "put them under one key gpu-batch-platform:platform:"),
])
def test_platform_block_under_the_wrong_key_says_which_key(stack_dir, capsys, config, path, message, fix):
    block = load_dev_platform_raw()
    if config == "FLAT":
        config = {f"gpu-batch-platform:{k}": v for k, v in block.items()}
    else:
        config = {k: ({"platform": block} if isinstance(v, dict) else block) for k, v in config.items()}
    code, err = stack_dir(_dump(config), capsys)
    assert code == 2
    assert f"  - {path}: " in err and message in err and f"(fix: {fix}" in err, err


def test_platform_block_outside_config(stack_dir, capsys):
    text = yaml.safe_dump({"config": {}, PLATFORM_KEY: load_dev_platform_raw()})
    code, err = stack_dir(text, capsys)
    assert code == 2
    assert "gpu-batch-platform:platform: 'gpu-batch-platform:platform' is at the top of the file, outside config:" in err
    assert "indent it under config: as gpu-batch-platform:platform" in err


def test_manifest_rejected_by_the_crd_schema_shows_the_full_reason(stack_dir, capsys, monkeypatch):
    """A Kubernetes object the vendored Kueue 0.19.2 ClusterQueue schema rejects: the upstream enum message,
    whole (kueue apis/kueue/v1beta2/clusterqueue_types.go: queueingStrategy is StrictFIFO or BestEffortFIFO)."""
    bad = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "team-a-high"},
           "spec": {"queueingStrategy": "FastestFirst", "namespaceSelector": {}, "resourceGroups": []}}
    monkeypatch.setattr(components.platform, "validate_manifests", lambda platform: validate_all([bad]))
    code, err = stack_dir(_dump(load_dev_config()), capsys)
    assert code == 2
    assert "a Kubernetes object derived from the config is invalid" in err
    assert "ClusterQueue/team-a-high: spec.queueingStrategy: 'FastestFirst' is not one of ['StrictFIFO', 'BestEffortFIFO']" in err


def test_unexpected_failure_is_a_message_not_a_traceback(stack_dir, capsys, monkeypatch):
    def boom(platform):
        raise RuntimeError("simulated failure inside the program")

    monkeypatch.setattr(components.platform, "validate_manifests", boom)
    code, err = stack_dir(_dump(load_dev_config()), capsys)
    assert code == 2
    assert "failed unexpectedly, nothing would be created: simulated failure inside the program" in err
    assert "bug in the program rather than in your config" in err
