"""Team workloads rendered from the model (Jobs, JobSets), validated like every emitted object."""

from .render import JOB_KINDS, WorkloadRequestError, first_flavor, gpu_requests, kinds_for, queue_of, render

__all__ = ["JOB_KINDS", "WorkloadRequestError", "first_flavor", "gpu_requests", "kinds_for", "queue_of", "render"]
