"""Monitoring layer: kube-prometheus-stack, scrape config, alert rules and dashboards derived from the model."""
