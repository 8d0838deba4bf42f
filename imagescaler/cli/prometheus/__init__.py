"""Prometheus rules and the local scrape config, as package data: `up --prometheus` works
from an installed wheel, and operators load the same rules into a cluster's Prometheus."""
