from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScaleImageRequest(_message.Message):
    __slots__ = ("image",)
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    image: Image
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ...) -> None: ...

class ScaleImageReply(_message.Message):
    __slots__ = ("content",)
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    def __init__(self, content: _Optional[bytes] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("content", "source")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    source: ImageSource
    def __init__(self, content: _Optional[bytes] = ..., source: _Optional[_Union[ImageSource, _Mapping]] = ...) -> None: ...

class ImageSource(_message.Message):
    __slots__ = ("http_uri",)
    HTTP_URI_FIELD_NUMBER: _ClassVar[int]
    http_uri: str
    def __init__(self, http_uri: _Optional[str] = ...) -> None: ...
