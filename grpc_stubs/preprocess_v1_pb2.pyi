from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageInput(_message.Message):
    __slots__ = ("content", "url")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    url: str
    def __init__(self, content: _Optional[bytes] = ..., url: _Optional[str] = ...) -> None: ...

class PreprocessRequest(_message.Message):
    __slots__ = ("image", "profile")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    image: ImageInput
    profile: str
    def __init__(self, image: _Optional[_Union[ImageInput, _Mapping]] = ..., profile: _Optional[str] = ...) -> None: ...

class Geometry(_message.Message):
    __slots__ = ("source_size", "orientation", "upright_size", "decode_scale", "crop_box", "scale", "padding", "output_size", "margin_skipped", "output_to_source", "source_to_output")
    SOURCE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    UPRIGHT_SIZE_FIELD_NUMBER: _ClassVar[int]
    DECODE_SCALE_FIELD_NUMBER: _ClassVar[int]
    CROP_BOX_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    PADDING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SIZE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TO_SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TO_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    source_size: _containers.RepeatedScalarFieldContainer[int]
    orientation: int
    upright_size: _containers.RepeatedScalarFieldContainer[int]
    decode_scale: float
    crop_box: _containers.RepeatedScalarFieldContainer[float]
    scale: _containers.RepeatedScalarFieldContainer[float]
    padding: _containers.RepeatedScalarFieldContainer[int]
    output_size: _containers.RepeatedScalarFieldContainer[int]
    margin_skipped: bool
    output_to_source: _containers.RepeatedScalarFieldContainer[float]
    source_to_output: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, source_size: _Optional[_Iterable[int]] = ..., orientation: _Optional[int] = ..., upright_size: _Optional[_Iterable[int]] = ..., decode_scale: _Optional[float] = ..., crop_box: _Optional[_Iterable[float]] = ..., scale: _Optional[_Iterable[float]] = ..., padding: _Optional[_Iterable[int]] = ..., output_size: _Optional[_Iterable[int]] = ..., margin_skipped: _Optional[bool] = ..., output_to_source: _Optional[_Iterable[float]] = ..., source_to_output: _Optional[_Iterable[float]] = ...) -> None: ...

class Tensor(_message.Message):
    __slots__ = ("shape", "dtype", "data")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    data: bytes
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class EncodedImage(_message.Message):
    __slots__ = ("data", "media_type")
    DATA_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    media_type: str
    def __init__(self, data: _Optional[bytes] = ..., media_type: _Optional[str] = ...) -> None: ...

class PreprocessReply(_message.Message):
    __slots__ = ("profile", "geometry", "tensor", "image")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    GEOMETRY_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    profile: str
    geometry: Geometry
    tensor: Tensor
    image: EncodedImage
    def __init__(self, profile: _Optional[str] = ..., geometry: _Optional[_Union[Geometry, _Mapping]] = ..., tensor: _Optional[_Union[Tensor, _Mapping]] = ..., image: _Optional[_Union[EncodedImage, _Mapping]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("id", "image", "profile")
    ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    id: str
    image: ImageInput
    profile: str
    def __init__(self, id: _Optional[str] = ..., image: _Optional[_Union[ImageInput, _Mapping]] = ..., profile: _Optional[str] = ...) -> None: ...

class StreamReply(_message.Message):
    __slots__ = ("id", "code", "reason", "message", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: int
    reason: str
    message: str
    result: PreprocessReply
    def __init__(self, id: _Optional[str] = ..., code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., result: _Optional[_Union[PreprocessReply, _Mapping]] = ...) -> None: ...

class ListProfilesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProfileInfo(_message.Message):
    __slots__ = ("name", "version", "ref", "description", "spec_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    ref: str
    description: str
    spec_json: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., ref: _Optional[str] = ..., description: _Optional[str] = ..., spec_json: _Optional[str] = ...) -> None: ...

class ListProfilesReply(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[ProfileInfo]
    def __init__(self, profiles: _Optional[_Iterable[_Union[ProfileInfo, _Mapping]]] = ...) -> None: ...

class InspectRequest(_message.Message):
    __slots__ = ("image",)
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    image: ImageInput
    def __init__(self, image: _Optional[_Union[ImageInput, _Mapping]] = ...) -> None: ...

class InspectReply(_message.Message):
    __slots__ = ("format", "stored_size", "upright_size", "orientation", "mode", "bit_depth", "frames", "icc_profile", "bytes")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    STORED_SIZE_FIELD_NUMBER: _ClassVar[int]
    UPRIGHT_SIZE_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    BIT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    ICC_PROFILE_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    format: str
    stored_size: _containers.RepeatedScalarFieldContainer[int]
    upright_size: _containers.RepeatedScalarFieldContainer[int]
    orientation: int
    mode: str
    bit_depth: int
    frames: int
    icc_profile: bool
    bytes: int
    def __init__(self, format: _Optional[str] = ..., stored_size: _Optional[_Iterable[int]] = ..., upright_size: _Optional[_Iterable[int]] = ..., orientation: _Optional[int] = ..., mode: _Optional[str] = ..., bit_depth: _Optional[int] = ..., frames: _Optional[int] = ..., icc_profile: _Optional[bool] = ..., bytes: _Optional[int] = ...) -> None: ...
