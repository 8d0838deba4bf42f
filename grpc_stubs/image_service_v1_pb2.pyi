from grpc_stubs import preprocess_v1_pb2 as _preprocess_v1_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PreprocessJob(_message.Message):
    __slots__ = ("image", "profile_json")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_JSON_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    profile_json: str
    def __init__(self, image: _Optional[bytes] = ..., profile_json: _Optional[str] = ...) -> None: ...
