"""Pod Security Standards: would the API server admit this pod template under a namespace's level?

Pod Security Admission rejects, at creation, a pod that violates its namespace's `enforce` level
(Kubernetes "Pod Security Admission"); a Job or JobSet is still created, but its controller's pods
are rejected, so the job never runs. The checks are the Kubernetes "Pod Security Standards" page's
Baseline and Restricted policy tables (field names and allowed values as listed there).
"""

from __future__ import annotations

from typing import Any, Iterator

BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
LEVELS = ("privileged", "baseline", "restricted")


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _containers(spec: dict) -> Iterator[tuple[str, dict]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(_list(spec.get(key))):
            if isinstance(c, dict):
                yield f"{key}[{i}]", c


def _baseline(spec: dict, where: str) -> Iterator[str]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            yield f"{where}.{key}: true (host namespaces are not allowed)"
    pod_sc = _dict(spec.get("securityContext"))
    if _dict(pod_sc.get("seccompProfile")).get("type") == "Unconfined":
        yield f"{where}.securityContext.seccompProfile.type: Unconfined"
    for i, sysctl in enumerate(_list(pod_sc.get("sysctls"))):
        if _dict(sysctl).get("name") not in SAFE_SYSCTLS:
            yield f"{where}.securityContext.sysctls[{i}]: {_dict(sysctl).get('name')!r} is not a safe sysctl"
    for i, volume in enumerate(_list(spec.get("volumes"))):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield f"{where}.volumes[{i}].hostPath: {_dict(volume['hostPath']).get('path')!r} (hostPath volumes are not allowed)"
    for path, c in _containers(spec):
        sc = _dict(c.get("securityContext"))
        if sc.get("privileged") is True:
            yield f"{where}.{path}.securityContext.privileged: true"
        added = [a for a in _list(_dict(sc.get("capabilities")).get("add")) if a not in BASELINE_CAPABILITIES]
        if added:
            yield f"{where}.{path}.securityContext.capabilities.add: {added} (beyond the baseline set)"
        if _dict(sc.get("seccompProfile")).get("type") == "Unconfined":
            yield f"{where}.{path}.securityContext.seccompProfile.type: Unconfined"
        if sc.get("procMount") not in (None, "Default"):
            yield f"{where}.{path}.securityContext.procMount: {sc.get('procMount')}"
        for j, port in enumerate(_list(c.get("ports"))):
            if _dict(port).get("hostPort") not in (None, 0):
                yield f"{where}.{path}.ports[{j}].hostPort: {_dict(port).get('hostPort')}"


def _restricted(spec: dict, where: str) -> Iterator[str]:
    for i, volume in enumerate(_list(spec.get("volumes"))):
        kinds = [k for k in _dict(volume) if k != "name"]
        bad = [k for k in kinds if k not in RESTRICTED_VOLUMES and k != "hostPath"]  # hostPath: said by baseline
        if bad:
            yield f"{where}.volumes[{i}]: volume type {bad[0]} is not allowed (restricted allows {', '.join(sorted(RESTRICTED_VOLUMES))})"
    pod_sc = _dict(spec.get("securityContext"))
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = _dict(pod_sc.get("seccompProfile")).get("type") in ("RuntimeDefault", "Localhost")
    if pod_sc.get("runAsUser") == 0:
        yield f"{where}.securityContext.runAsUser: 0 (root)"
    for path, c in _containers(spec):
        sc = _dict(c.get("securityContext"))
        at = f"{where}.{path}.securityContext"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{at}.allowPrivilegeEscalation must be false"
        if sc.get("runAsNonRoot") is False or (sc.get("runAsNonRoot") is not True and not pod_non_root):
            yield f"{at}.runAsNonRoot must be true (here or in {where}.securityContext)"
        if sc.get("runAsUser") == 0:
            yield f"{at}.runAsUser: 0 (root)"
        seccomp = _dict(sc.get("seccompProfile")).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost") and not (seccomp is None and pod_seccomp):
            yield f"{at}.seccompProfile.type must be RuntimeDefault or Localhost (here or in {where}.securityContext)"
        caps = _dict(sc.get("capabilities"))
        if "ALL" not in _list(caps.get("drop")):
            yield f"{at}.capabilities.drop must include ALL"
        extra = [a for a in _list(caps.get("add")) if a != "NET_BIND_SERVICE"]
        if extra:
            yield f"{at}.capabilities.add: {extra} (restricted allows only NET_BIND_SERVICE)"


def violations(pod_spec: Any, level: str, where: str = "spec") -> list[str]:
    """Each way `pod_spec` breaks the Pod Security Standard `level`, as a field path and what is wrong."""
    if level == "privileged" or not isinstance(pod_spec, dict):
        return []
    found = list(_baseline(pod_spec, where))
    if level == "restricted":
        found += _restricted(pod_spec, where)
    return found


ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
_FIXES = {
    "privileged": "remove securityContext.privileged",
    "hostNetwork": "remove hostNetwork/hostPID/hostIPC",
    "hostPath": "mount data through the team bucket (/data) or a PersistentVolumeClaim instead of a hostPath",
    "runAsNonRoot": "set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod",
    "runAsUser": "run as a non-zero user (runAsUser: 1000)",
    "seccompProfile": "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
    "allowPrivilegeEscalation": "set allowPrivilegeEscalation: false on every container",
    "capabilities": "set capabilities.drop: [ALL] on every container and add none",
    "hostPort": "remove hostPort (use the pod's own port)",
}


def pod_set_rejections(pod_sets: list, namespace_labels: dict) -> tuple[list[str], list[str]]:
    """(what Pod Security Admission rejects in each pod set, the fixes) under the namespace's enforce level.
    `pod_sets`: explain's PodSets (.spec, .path)."""
    level = namespace_labels.get(ENFORCE_LABEL, "privileged")
    reasons: list[str] = []
    for pod_set in pod_sets:
        reasons += violations(pod_set.spec, level, pod_set.path)
    fixes = sorted({fix for key, fix in _FIXES.items() if any(key in r for r in reasons)})
    if reasons:
        fixes.append(f"the workloads command renders a job that runs under {level} (docs/security.md)")
    return reasons, fixes
