"""The original ImageScaler gRPC API: decides what to ask for and forwards to the image service."""
