"""The runtime every service shares: errors, settings, gRPC plumbing, metrics, logging and the
request context. The lowest layer: it imports no other part of the project."""
