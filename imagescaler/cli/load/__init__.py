"""`imagescaler load`: drive the gRPC API or the REST gateway through a load profile."""
