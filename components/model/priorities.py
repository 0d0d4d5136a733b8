"""The PriorityClasses the platform creates and the one each queue class implies (from the queue-class
table in components/model/queue_classes.py, plus the platform controllers' own class)."""

from __future__ import annotations

from .queue_classes import BY_NAME, QUEUE_CLASSES as _CLASSES, PriorityClass

DWS = "dws"
SHARED = "shared"
# The LocalQueue names of a team namespace, in the queue-class table's order (components/model/queue_classes.py).
QUEUE_CLASSES = tuple(c.name for c in _CLASSES)

# The platform's own controllers (Kueue, JobSet, monitoring) run at this class: above every batch tier,
# so the low global default never applies to them and no batch job can preempt them.
PLATFORM_SERVICES = "platform-services"

PRIORITY_CLASSES = {
    **{c.name: c.priority for c in _CLASSES if c.priority is not None},
    PLATFORM_SERVICES: PriorityClass(100000, "PreemptLowerPriority", False, "Kueue, JobSet and monitoring controllers."),
}
DEFAULT_PRIORITY_CLASS = next(name for name, pc in PRIORITY_CLASSES.items() if pc.global_default)


def priority_class_for(queue_class: str) -> str:
    """The pod priorityClassName a job submitted to LocalQueue `queue_class` must carry."""
    try:
        return BY_NAME[queue_class].priority_class
    except KeyError:
        raise ValueError(f"unknown queue class {queue_class!r}; expected one of {', '.join(QUEUE_CLASSES)}") from None
