"""The gRPC runtime the services and clients share: servers and their interceptors (tokens,
admission, request context, logs, metrics, errors to statuses, drain), client channels,
message options. The pure runtime below it (imagescaler.runtime) knows no gRPC."""
