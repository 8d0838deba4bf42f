"""An existing client: stubs generated from the original contract, nothing of ours imported.

Usage: call_server.py STUB_DIR HOST:PORT (--file PATH | --url URL) OUT
Prints the status name on failure and exits 1.
"""

import sys

import grpc

sys.path.insert(0, sys.argv[1])
import imagescaler_pb2
import imagescaler_pb2_grpc

target, kind, value, out = sys.argv[2:6]
if kind == "--file":
    with open(value, "rb") as source:
        image = imagescaler_pb2.Image(content=source.read())
else:
    image = imagescaler_pb2.Image(source=imagescaler_pb2.ImageSource(http_uri=value))
options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
with grpc.insecure_channel(target, options=options) as channel:
    stub = imagescaler_pb2_grpc.ImageScalerStub(channel)
    try:
        reply = stub.ScaleImage(imagescaler_pb2.ScaleImageRequest(image=image), timeout=60)
    except grpc.RpcError as error:
        print(error.code().name, error.details())
        sys.exit(1)
with open(out, "wb") as sink:
    sink.write(reply.content)
