"""The pure imaging library: formats, decoding, colour, geometry and processing, with no gRPC.
The image service runs it, the API reads headers with it, and training code imports it."""
