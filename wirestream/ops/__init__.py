"""Operators' commands: status, health, the dead-letter queue, the Prometheus
exporter."""
