"""Text from a request cannot forge or flood log lines (round 3: a newline in a profile's
name forged a whole line in the text format, and a 20 MB name wrote a 20 MB line)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import grpc
import pytest

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from image_service.worker_pool import WorkerPool
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.runtime.logging_setup import RequestIdFilter, TextFormatter
from imagescaler.runtime.request_context import begin_request
from imagescaler.runtime.request_log import MAX_FIELD_CHARS, log_request
from tests.support.images import shared_image
from tests.support.servers import CLIENT_OPTIONS
from tests.support.waiting import wait_until

FORGED = "yolo-640\n2026-12-06 12:00:00 api INFO imagescaler.requests: status=OK admin=true"


@pytest.fixture
def stub(api: RunningServer) -> Iterator[pre_grpc.PreprocessorStub]:
    with grpc.insecure_channel(f"127.0.0.1:{api.port}", options=CLIENT_OPTIONS) as channel:
        yield pre_grpc.PreprocessorStub(channel)


def text_lines(records: list[logging.LogRecord]) -> list[str]:
    formatter = TextFormatter("api")
    return [formatter.format(record) for record in records]


@pytest.mark.parametrize("name", [FORGED, "x" * 2_000_000], ids=["newline", "2-MB"])
def test_a_hostile_profile_name_gives_one_bounded_line(
    stub: pre_grpc.PreprocessorStub, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.INFO)
    image = pre_pb.ImageInput(content=shared_image("photo_550x368.webp"))
    with pytest.raises(grpc.RpcError) as refused:
        stub.Preprocess(pre_pb.PreprocessRequest(image=image, profile=name), timeout=30)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(refused.value.details() or "") < 1000
    # The line is written as the call ends, which may be just after the client has its answer.
    wait_until(lambda: any("Preprocess" in r.getMessage() for r in caplog.records), 10, "a line")
    lines = text_lines(caplog.records)
    assert lines and all("\n" not in line for line in lines)
    assert all(len(line) < 8 * MAX_FIELD_CHARS for line in lines), max(map(len, lines))
    logged = [line for line in lines if "imagescaler.requests" in line and "Preprocess" in line]
    assert logged, lines
    if name == FORGED:
        assert "\\n2026-12-06" in logged[0]  # escaped, inside one quoted value


def test_values_that_are_not_plain_tokens_are_quoted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="imagescaler.requests")
    log_request(method="a/B", profile="two words status=OK", status="OK", size=3)
    (line,) = text_lines(caplog.records)
    assert line.endswith('method=a/B profile="two words status=OK" status=OK size=3')
    assert caplog.records[0].profile == "two words status=OK"  # JSON keeps the value


def test_any_log_message_has_its_control_characters_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    logging.getLogger("imagescaler.test").warning("fetching %s failed", "http://a/\r\nforged")
    (line,) = text_lines(caplog.records)
    assert line.endswith("fetching http://a/\\r\\nforged failed")


def test_a_library_warning_on_a_worker_thread_names_its_request() -> None:
    """Round 3: libvips' warnings ("PCS illuminant is not D50") reached the logs without the
    request id. The pool runs each job in its caller's context, and every record gets the id."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    handler.addFilter(RequestIdFilter())
    pyvips_logger = logging.getLogger("pyvips")
    pyvips_logger.addHandler(handler)

    def decode_with_a_warning() -> None:
        pyvips_logger.warning("PCS illuminant is not D50")  # as pyvips passes libvips' on

    async def one_request() -> None:
        begin_request("req-4711")
        pool = WorkerPool(workers=1, queue_depth=0)
        await pool.run(decode_with_a_warning)
        pool.shutdown()

    try:
        asyncio.run(one_request())
    finally:
        pyvips_logger.removeHandler(handler)
    (record,) = records
    assert record.request_id == "req-4711"  # type: ignore[attr-defined]
    assert (
        TextFormatter("image-service")
        .format(record)
        .endswith("pyvips: PCS illuminant is not D50 (request req-4711)")
    )
