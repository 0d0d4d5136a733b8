"""A MultiKueue manager's wiring, as one stack shows it: the admission check's MultiKueueConfig exists, every
worker it lists has a MultiKueueCluster, and every MultiKueueCluster's kubeconfig Secret exists where Kueue
reads it. Otherwise Kueue marks the check or cluster inactive and the dispatched queues admit nothing.

Kueue v0.19.2: apis/kueue/v1beta2/multikueue_types.go (MultiKueueControllerName; KubeConfig.Location: "the
name of the secret inside the namespace in which the kueue controller manager is running. The config should
be stored in the \"kubeconfig\" key"; locationType defaults to Secret), and
pkg/controller/admissionchecks/multikueue/admissioncheck.go (a missing or inactive cluster makes the check
"SomeActiveClusters" or "NoUsableClusters"). Agreement with the workers' own stacks cannot be seen from one
stack's resources; the program checks it against their stack files (components/model/fleet_agreement.py).
"""

from __future__ import annotations

from typing import Iterator, Optional

from .building import stack_policy
from .stack import StackView
from .values import UNKNOWN, get, mapping

CONTROLLER = "kueue.x-k8s.io/multikueue"
KUEUE_NAMESPACE = "kueue-system"  # the namespace the platform's Kueue controller runs in


def _secrets(stack: StackView) -> dict[str, dict]:
    out = {}
    for r in stack.of_type("kubernetes:core/v1:Secret"):
        props = stack.props[r.urn]
        if get(props, "metadata", "namespace") == KUEUE_NAMESPACE:
            out[get(props, "metadata", "name")] = props
    return out


def _check_wiring(stack: StackView, config: dict) -> Iterator[tuple[str, Optional[str]]]:
    configs = {c.name: c for c in stack.kueue_objects("MultiKueueConfig")}
    clusters = {c.name: c for c in stack.kueue_objects("MultiKueueCluster")}
    for check in stack.kueue_objects("AdmissionCheck"):
        if get(check.spec, "controllerName") != CONTROLLER:
            continue
        params = dict(mapping(check.spec, "parameters"))
        name = params.get("name")
        if params.get("kind") != "MultiKueueConfig" or params.get("apiGroup") != "kueue.x-k8s.io":
            yield (f"AdmissionCheck {check.name!r} is a MultiKueue check whose parameters do not name a "
                   "kueue.x-k8s.io MultiKueueConfig: Kueue marks it inactive", check.urn)
        elif name is not UNKNOWN and name not in configs:
            yield (f"AdmissionCheck {check.name!r} names MultiKueueConfig {name!r}, which does not exist: the "
                   "queues that require it admit nothing", check.urn)
    for mk in configs.values():
        for worker in get(mk.spec, "clusters") or []:
            if isinstance(worker, str) and worker not in clusters:
                yield (f"MultiKueueConfig {mk.name!r} lists worker {worker!r} with no MultiKueueCluster: nothing is "
                       "ever dispatched there", mk.urn)
    secrets = _secrets(stack)
    for mkc in clusters.values():
        source = dict(mapping(mkc.spec, "clusterSource", "kubeConfig"))
        if not source or source.get("locationType", "Secret") != "Secret":
            continue
        location = source.get("location")
        if location is UNKNOWN:
            continue
        secret = secrets.get(location)
        if secret is None:
            yield (f"MultiKueueCluster {mkc.name!r} reads its kubeconfig from Secret {location!r}, which the stack "
                   f"does not create in {KUEUE_NAMESPACE}: the worker stays disconnected", mkc.urn)
        elif not any(get(secret, field, "kubeconfig") is not None for field in ("data", "stringData")):
            yield (f"Secret {KUEUE_NAMESPACE}/{location} has no `kubeconfig` key, which is where Kueue reads the "
                   f"worker's kubeconfig for MultiKueueCluster {mkc.name!r}", mkc.urn)


MULTIKUEUE_WIRING = stack_policy(
    "multikueue-manager-wiring",
    "A MultiKueue manager's AdmissionCheck must name an existing MultiKueueConfig, every worker it lists must "
    "have a MultiKueueCluster, and each MultiKueueCluster's kubeconfig Secret must exist in kueue-system under "
    "the `kubeconfig` key: otherwise the dispatched queues admit nothing. Fix: create the missing object or "
    "correct the name.",
    _check_wiring,
)

POLICIES = [MULTIKUEUE_WIRING]
