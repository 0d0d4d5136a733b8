"""Config-level security refusals (components/model/checks_security.py): each mistake is one error at
its own path with a fix; the shipped stacks pass."""

from __future__ import annotations

import pytest

from components.model import parse_platform
from conftest import config_error, load_dev_platform_raw


def _with(change) -> dict:
    raw = load_dev_platform_raw()
    change(raw)
    return raw


def _rename(name: str):
    return lambda raw: raw["teams"][0].update(name=name)


@pytest.mark.parametrize("name, message", [
    ("kube-system", "system namespace"), ("default", "system namespace"), ("monitoring", "system namespace"),
    ("kueue-system", "system namespace"), ("gke-managed-system", "system namespace"), ("gke-anything", "system namespace"),
    ("gmp-public", "system namespace"), ("kube-foo", "system namespace"),
    ("nodes", "would be the nodes' service account"), ("system", "platform's own principals"),
])
def test_team_named_like_a_system_identity_is_refused(name, message):
    err = config_error(_with(_rename(name)))
    assert [i.path for i in err.issues] == ["teams[0].name"], str(err)
    assert message in err.issues[0].message and err.issues[0].fix


def test_domain_member_is_refused():
    err = config_error(_with(lambda raw: raw["teams"][0].update(members=["domain:example.com"])))
    assert [i.path for i in err.issues] == ["teams[0].members[0]"]
    assert "everyone in the domain" in err.issues[0].message and "group:" in err.issues[0].fix


@pytest.mark.parametrize("cidr, refused", [
    ("203.0.113.0/24", False), ("203.0.113.7/32", False), ("198.51.0.0/16", True), ("203.0.112.0/23", True),
    ("10.0.0.0/8", False), ("100.64.0.0/10", False),
])
def test_public_authorized_network_wider_than_a_24_is_refused(cidr, refused):
    raw = _with(lambda raw: raw["network"]["authorizedNetworks"].append({"name": "admin", "cidr": cidr}))
    if not refused:
        parse_platform(raw)
        return
    err = config_error(raw)
    assert [i.path for i in err.issues] == ["network.authorizedNetworks[2].cidr"]
    assert "at most a /24" in err.issues[0].message
