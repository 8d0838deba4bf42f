"""The image service: the gRPC microservice that does the pixel work."""
