from grpc_stubs import preprocess_v1_pb2 as _preprocess_v1_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResizeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESIZE_MODE_UNSPECIFIED: _ClassVar[ResizeMode]
    RESIZE_MODE_STRETCH: _ClassVar[ResizeMode]
    RESIZE_MODE_FIT: _ClassVar[ResizeMode]
    RESIZE_MODE_COVER: _ClassVar[ResizeMode]
    RESIZE_MODE_PAD: _ClassVar[ResizeMode]

class ImageFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_FORMAT_UNSPECIFIED: _ClassVar[ImageFormat]
    IMAGE_FORMAT_JPEG: _ClassVar[ImageFormat]
    IMAGE_FORMAT_PNG: _ClassVar[ImageFormat]
    IMAGE_FORMAT_WEBP: _ClassVar[ImageFormat]
    IMAGE_FORMAT_GIF: _ClassVar[ImageFormat]
    IMAGE_FORMAT_BMP: _ClassVar[ImageFormat]
    IMAGE_FORMAT_TIFF: _ClassVar[ImageFormat]
    IMAGE_FORMAT_HEIF: _ClassVar[ImageFormat]
    IMAGE_FORMAT_AVIF: _ClassVar[ImageFormat]
    IMAGE_FORMAT_JXL: _ClassVar[ImageFormat]
RESIZE_MODE_UNSPECIFIED: ResizeMode
RESIZE_MODE_STRETCH: ResizeMode
RESIZE_MODE_FIT: ResizeMode
RESIZE_MODE_COVER: ResizeMode
RESIZE_MODE_PAD: ResizeMode
IMAGE_FORMAT_UNSPECIFIED: ImageFormat
IMAGE_FORMAT_JPEG: ImageFormat
IMAGE_FORMAT_PNG: ImageFormat
IMAGE_FORMAT_WEBP: ImageFormat
IMAGE_FORMAT_GIF: ImageFormat
IMAGE_FORMAT_BMP: ImageFormat
IMAGE_FORMAT_TIFF: ImageFormat
IMAGE_FORMAT_HEIF: ImageFormat
IMAGE_FORMAT_AVIF: ImageFormat
IMAGE_FORMAT_JXL: ImageFormat

class Resize(_message.Message):
    __slots__ = ("width", "height", "mode", "fill_rgb")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FILL_RGB_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    mode: ResizeMode
    fill_rgb: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., mode: _Optional[_Union[ResizeMode, str]] = ..., fill_rgb: _Optional[int] = ...) -> None: ...

class Output(_message.Message):
    __slots__ = ("format", "quality")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    format: ImageFormat
    quality: int
    def __init__(self, format: _Optional[_Union[ImageFormat, str]] = ..., quality: _Optional[int] = ...) -> None: ...

class ProcessRequest(_message.Message):
    __slots__ = ("image", "resize", "grayscale", "output")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    GRAYSCALE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    resize: Resize
    grayscale: bool
    output: Output
    def __init__(self, image: _Optional[bytes] = ..., resize: _Optional[_Union[Resize, _Mapping]] = ..., grayscale: _Optional[bool] = ..., output: _Optional[_Union[Output, _Mapping]] = ...) -> None: ...

class ImageInfo(_message.Message):
    __slots__ = ("width", "height", "format")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    format: ImageFormat
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class ProcessReply(_message.Message):
    __slots__ = ("image", "result", "source", "scaled", "grayscaled")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCALED_FIELD_NUMBER: _ClassVar[int]
    GRAYSCALED_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    result: ImageInfo
    source: ImageInfo
    scaled: bool
    grayscaled: bool
    def __init__(self, image: _Optional[bytes] = ..., result: _Optional[_Union[ImageInfo, _Mapping]] = ..., source: _Optional[_Union[ImageInfo, _Mapping]] = ..., scaled: _Optional[bool] = ..., grayscaled: _Optional[bool] = ...) -> None: ...

class PreprocessJob(_message.Message):
    __slots__ = ("image", "profile_json")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_JSON_FIELD_NUMBER: _ClassVar[int]
    image: bytes
    profile_json: str
    def __init__(self, image: _Optional[bytes] = ..., profile_json: _Optional[str] = ...) -> None: ...
