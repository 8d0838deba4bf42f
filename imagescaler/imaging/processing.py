"""Pure image processing with Pillow: decode, orient, scale, grayscale, encode. No gRPC here."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, field

from PIL import Image

from imagescaler.imaging.colour import to_working_mode
from imagescaler.imaging.decode_cost import reserve_decode, reserve_jxl
from imagescaler.imaging.decoding import decode
from imagescaler.imaging.formats import ImageHeader, Limits, check_jxl, open_image
from imagescaler.imaging.geometry import ResizePlan, ResizeSpec, plan_resize
from imagescaler.imaging.jxl_header import is_jxl
from imagescaler.runtime.cancellation import raise_if_cancelled
from imagescaler.runtime.errors import InvalidRequest
from imagescaler.runtime.memory_budget import MemoryBudget

ENCODABLE_FORMATS = ("JPEG", "PNG", "WEBP")
DEFAULT_QUALITY = 90
# Lanczos keeps detail on large reductions without aliasing; reducing_gap first
# box-reduces by whole factors, which is faster and costs no visible quality.
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 3.0


@dataclass(frozen=True)
class ProcessingOptions:
    """What to do to one image."""

    resize: ResizeSpec | None = None
    grayscale: bool = False
    output_format: str | None = None  # None: same as the input where encodable, else PNG
    quality: int = DEFAULT_QUALITY


@dataclass(frozen=True)
class ProcessedImage:
    """The encoded result and what came out."""

    data: bytes
    format: str
    width: int
    height: int
    source: ImageHeader
    scaled: bool
    grayscaled: bool
    stage_seconds: dict[str, float] = field(default_factory=dict)


class StageClock:
    """Seconds spent in each named stage of one image."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def process_image(
    data: bytes, options: ProcessingOptions, limits: Limits, budget: MemoryBudget | None = None
) -> ProcessedImage:
    """Turn image bytes into the image `options` asks for; raises ServiceError subclasses.
    With a `budget`, the decode's estimated memory is reserved from it first."""
    validate_options(options)
    # JPEG XL's plugin decodes while it opens: its memory is held from its header first.
    early = reserve_jxl(budget, check_jxl(data, limits), 0) if is_jxl(data) else None
    with early or nullcontext():
        image, header = open_image(data, limits)
        output_format = choose_output_format(header.format, options.output_format)
        spec = options.resize
        plan = plan_resize(header.upright_size, spec) if spec is not None else None
        if plan is not None and plan.is_identity:
            plan = None
        if _nothing_to_change(header, output_format, plan is not None, options.grayscale):
            width, height = header.upright_size
            return ProcessedImage(
                data, header.format, width, height, header, scaled=False, grayscaled=False
            )
        held = nullcontext() if early else reserve_decode(budget, data, image, header, plan)
        with held, closing(image):
            # Closing frees the decoded pixels before the reservation ends and memory is trimmed.
            return _process(
                data, image, header, options=options, plan=plan, output_format=output_format
            )


def _process(
    data: bytes,
    image: Image.Image,
    header: ImageHeader,
    *,
    options: ProcessingOptions,
    plan: ResizePlan | None,
    output_format: str,
) -> ProcessedImage:
    spec = options.resize
    clock = StageClock()
    with clock.stage("decode"):
        image = decode(data, image, header, plan, options.grayscale)
    raise_if_cancelled()  # a job whose caller has gone stops here
    with clock.stage("grayscale" if options.grayscale else "colour"):
        image = to_working_mode(image, options.grayscale)
    if spec is not None and plan is not None:
        with clock.stage("resize"):
            # Re-plan on the decoded size: shrink-on-load may have changed it.
            image = resize(image, plan_resize(image.size, spec), spec.fill)
    with clock.stage("encode"):
        encoded = encode(image, output_format, options.quality)
    return ProcessedImage(
        encoded,
        output_format,
        image.width,
        image.height,
        header,
        scaled=plan is not None,
        grayscaled=options.grayscale,
        stage_seconds=clock.seconds,
    )


def validate_options(options: ProcessingOptions) -> None:
    if options.resize is not None and (options.resize.width < 1 or options.resize.height < 1):
        raise InvalidRequest(
            f"the target size {options.resize.width}x{options.resize.height} must be at least 1x1"
        )
    if not 1 <= options.quality <= 100:
        raise InvalidRequest(f"quality must be between 1 and 100, not {options.quality}")
    if options.output_format is not None and options.output_format not in ENCODABLE_FORMATS:
        raise InvalidRequest(
            f"output format {options.output_format} is not one of {', '.join(ENCODABLE_FORMATS)}"
        )


def choose_output_format(input_format: str, requested: str | None) -> str:
    if requested is not None:
        return requested
    return input_format if input_format in ENCODABLE_FORMATS else "PNG"


def _nothing_to_change(header: ImageHeader, output: str, scaling: bool, grayscale: bool) -> bool:
    return not scaling and not grayscale and output == header.format and header.orientation == 1


def resize(
    image: Image.Image, plan: ResizePlan, fill: tuple[int, int, int] = (0, 0, 0)
) -> Image.Image:
    """Crop, resample and letterbox as planned."""
    if plan.is_identity:
        return image
    resized = image.resize(plan.size, RESAMPLE, box=plan.box, reducing_gap=REDUCING_GAP)
    if plan.canvas is None:
        return resized
    return letterbox(resized, plan.canvas, fill)


def letterbox(
    image: Image.Image,
    canvas: tuple[int, int],
    fill: tuple[int, int, int],
    offset: tuple[int, int] | None = None,
) -> Image.Image:
    """`image` on a canvas of `fill` (a grey of the same luma for mode L), centred or at offset."""
    colour: int | tuple[int, int, int] = fill
    if image.mode == "L":
        colour = round(fill[0] * 0.299 + fill[1] * 0.587 + fill[2] * 0.114)
    background = Image.new(image.mode, canvas, colour)
    if offset is None:
        offset = ((canvas[0] - image.width) // 2, (canvas[1] - image.height) // 2)
    background.paste(image, offset)
    return background


def encode(image: Image.Image, output_format: str, quality: int) -> bytes:
    """Encode without metadata: no EXIF, no ICC profile (pixels are sRGB by now)."""
    image.info = {}
    buffer = io.BytesIO()
    if output_format == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    elif output_format == "WEBP":
        image.save(buffer, "WEBP", quality=quality)
    else:
        image.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()
