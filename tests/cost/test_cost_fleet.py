"""What a fleet adds to `cost`: a worker's idle floor and the Cloud Storage transfer of the jobs dispatched
to it, which read their team bucket in the manager's region (docs/design.md "Data across regions").

The transfer rates are platform/catalog/prices.yaml `dataTransfer`, read from a transcription of Google's
Cloud Storage pricing page ("Data moves between different locations on the same continent ... $0.01/GB";
"Data moves between different continents and neither is Australia ... See General network usage table",
"Egress to Worldwide Destinations (excluding Asia & Australia) ... 0-1 TB $0.12"); the entry says it is
outdated and unverified.
"""

from __future__ import annotations

import pytest

from components.cli import main as cli
from components.cost.envelope import stack_envelope
from components.cost.fleet import fleet_costs
from components.cost.report import cost_json, cost_text
from components.model.prices import Unpriced, price_catalog
from components.stacks import load_stack


def test_transfer_rates_follow_the_pages_cases():
    catalog = price_catalog()
    assert catalog.storage_transfer("us-central1", "us-central1").value == 0  # "within the same location": free
    assert catalog.storage_transfer("us-central1", "northamerica-northeast1").value == 0.01
    assert catalog.storage_transfer("us-central1", "europe-west4").value == 0.12
    for pair in (("us-central1", "australia-southeast1"), ("us-central1", "mars-north1")):
        with pytest.raises(Unpriced):
            catalog.storage_transfer(*pair)
    entry = catalog.data_transfer
    assert entry.evidence == "unverified" and "OUTDATED SOURCE" in entry.note
    assert entry.source.startswith("https://cloud.google.com/storage/pricing")


def test_a_worker_costs_its_idle_floor_and_the_transfer_of_what_its_jobs_read():
    stack = load_stack("fleet-worker-eu")
    catalog = price_catalog()
    (worker,) = fleet_costs(stack.platform, "fleet-worker-eu", catalog)
    assert worker.idle == stack_envelope(stack.platform, "fleet-worker-eu", catalog).idle.monthly
    assert (worker.bucket_region, worker.region, worker.per_gib) == ("us-central1", "europe-west4", 0.12)
    text = "\n".join(cost_text(stack.platform, "fleet-worker-eu", catalog))
    assert (f"  idle floor of this worker: ${worker.idle:,.2f}/month, paid whether or not work is dispatched to it"
            in text)
    assert "dispatched jobs read their team buckets in us-central1 at $0.12/GiB read" in text
    # Never in the totals: the envelope is the same as the stack's own.
    assert cost_json(stack.platform, "fleet-worker-eu", catalog)["fleet"][0]["transferPerGiBUsd"] == 0.12


def test_a_manager_shows_each_worker(capsys):
    assert cli(["cost", "fleet-manager"]) == 0
    out = capsys.readouterr().out
    worker_floor = stack_envelope(load_stack("fleet-worker-eu").platform).idle.monthly
    assert (f"  worker-eu (fleet-worker-eu, europe-west4): idle floor ${worker_floor:,.2f}/month; its jobs read this "
            "stack's team buckets at $0.12/GiB read") in out
    assert "1 reserved external IP" in out  # the manager's NAT address is reserved (same price)


def test_a_single_cluster_stack_has_no_fleet_lines():
    stack = load_stack("dev")
    assert fleet_costs(stack.platform, "dev", price_catalog()) == []
    assert "Fleet" not in "\n".join(cost_text(stack.platform, "dev"))
