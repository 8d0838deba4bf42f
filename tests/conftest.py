"""Fixtures only (helpers live in tests/support/): real servers on 127.0.0.1 ephemeral ports,
built from keyword-argument settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grpc_api.server import create_server as create_api
from grpc_api.settings import ApiSettings
from image_service.server import create_server as create_image_service
from image_service.settings import ImageServiceSettings
from imagescaler.grpc_runtime.server import RunningServer
from tests.support.decode_spy import spy_on_decodes
from tests.support.loop import LoopThread
from tests.support.servers import LocalHttpServer, ScaleClient, server_starter

pytest_plugins = ["tests.gateway_fixtures"]


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


IMAGE_SERVICE_DEFAULTS = {"workers": 2}


@pytest.fixture(scope="session")
def image_service(loop_thread: LoopThread) -> Iterator[RunningServer]:
    """The image service most tests share."""
    with server_starter(
        loop_thread, create_image_service, ImageServiceSettings, IMAGE_SERVICE_DEFAULTS
    ) as start:
        yield start()


@pytest.fixture
def start_image_service(loop_thread: LoopThread) -> Iterator[Callable[..., RunningServer]]:
    """Image services of one test, fresh, stopped when it ends."""
    with server_starter(
        loop_thread, create_image_service, ImageServiceSettings, IMAGE_SERVICE_DEFAULTS
    ) as start:
        yield start


@pytest.fixture(scope="session")
def shared_api_starter(
    loop_thread: LoopThread, image_service: RunningServer
) -> Iterator[Callable[..., RunningServer]]:
    defaults = {"image_service": f"127.0.0.1:{image_service.port}"}
    with server_starter(loop_thread, create_api, ApiSettings, defaults) as start:
        yield start


@pytest.fixture(scope="session")
def api(shared_api_starter: Callable[..., RunningServer]) -> RunningServer:
    """The API with default settings: private URLs refused."""
    return shared_api_starter()


@pytest.fixture(scope="session")
def api_private(shared_api_starter: Callable[..., RunningServer]) -> RunningServer:
    """The API as in local development: loopback URLs allowed, for the local HTTP server."""
    return shared_api_starter(allow_private_urls=True, download_timeout=3.0)


@pytest.fixture
def start_api(
    loop_thread: LoopThread, image_service: RunningServer
) -> Iterator[Callable[..., RunningServer]]:
    """APIs of one test (behind the shared image service unless told), stopped when it ends."""
    defaults = {"image_service": f"127.0.0.1:{image_service.port}"}
    with server_starter(loop_thread, create_api, ApiSettings, defaults) as start:
        yield start


@pytest.fixture
def client(api: RunningServer) -> Iterator[ScaleClient]:
    scale_client = ScaleClient(api.port)
    yield scale_client
    scale_client.channel.close()


@pytest.fixture
def private_client(api_private: RunningServer) -> Iterator[ScaleClient]:
    scale_client = ScaleClient(api_private.port)
    yield scale_client
    scale_client.channel.close()


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    server = LocalHttpServer()
    yield server
    server.close()


@pytest.fixture
def no_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The decodes made during the test (tests/support/decode_spy.py); [] means none."""
    return spy_on_decodes(monkeypatch)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests leave files for a person to look at (screenshots, the image's size):
    $IMAGESCALER_TEST_ARTIFACTS when set (CI keeps it), else a temporary folder; never the
    checkout."""
    configured = os.environ.get("IMAGESCALER_TEST_ARTIFACTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
