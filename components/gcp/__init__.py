"""GCP layer: network, identities, cluster and node pools, each a small ComponentResource."""
