"""imagescaler: image pre-processing for machine-learning pipelines.

Layers, each importing only those below it (pyproject.toml's import-linter contracts):
the command line (imagescaler.cli) -> the services (grpc_api, image_service, rest_gateway)
-> the pure imaging library (imagescaler.imaging) -> the runtime (imagescaler.runtime)."""
