"""`explain`: an admission simulator for the platform's rendered objects (see simulate.py)."""

from .cluster import ClusterView, NodePool, Nap, from_capture, view
from .simulate import ADMITTED, PENDING, REJECTED, UNMANAGED, Verdict, explain, load_workload_file
from .used import UsedError, parse_used, parse_workloads
from .workload import Workload, WorkloadError, from_object

__all__ = ["ADMITTED", "PENDING", "REJECTED", "UNMANAGED", "ClusterView", "Nap", "NodePool", "Verdict", "Workload",
           "UsedError", "WorkloadError", "explain", "from_capture", "from_object", "load_workload_file", "parse_used", "parse_workloads", "view"]
