"""Generated protobuf and gRPC stubs; regenerate with `make proto`, never edit by hand."""
