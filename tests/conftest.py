import itertools
import random
import threading
from collections.abc import Callable

import pytest
from fastmcp import Client
from playwright.async_api import async_playwright

from tests.fake_mistral import FakeMistral
from tests.redis_server import RedisServer
from tictactoe.doors.flask_app import create_app
from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.players.mistral import MistralVoice
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.state.redis_store import RedisRoomStore
from tictactoe.state.sqlite_store import SqliteRoomStore
from tictactoe.state.store import RoomStore

TEST_KEY = "test-key-do-not-log"
PREFIXES = (f"test{n}:" for n in itertools.count())  # each store its own keys in the one Redis
CHROMIUM = "/usr/bin/chromium"  # Debian's package; .ci/run installs it


def all_at_once(calls: list[Callable[[], object]]) -> list:
    """Each call in a thread of its own, all released at the same instant: what each returned."""
    start, returned = threading.Barrier(len(calls)), [None] * len(calls)

    def run(number: int) -> None:
        start.wait()
        returned[number] = calls[number]()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return returned


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    """One redis-server for the whole run, on a free loopback port; every store in it has keys of its own."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def redis_store(server: RedisServer, **options) -> RedisRoomStore:
    """A store in the tests' Redis, under keys of its own."""
    return RedisRoomStore(server.url, prefix=next(PREFIXES), **options)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def service(request, tmp_path) -> GameService:
    """The service without a Mistral key (the built-in engine plays, at medium by default), over each store."""
    if request.param == "redis":
        store = redis_store(request.getfixturevalue("redis_server"))
    else:
        store = SqliteRoomStore(str(tmp_path / "rooms.db")) if request.param == "sqlite" else RoomStore()
    yield GameService(Opponent(None, random.Random(7)), store=store)
    store.close()


@pytest.fixture
def fake_mistral():
    fake = FakeMistral().start()
    yield fake
    fake.stop()


def mistral_service(fake: FakeMistral, timeout: float = 2.0) -> GameService:
    """The service with a key, its real SDK client pointed at the fake endpoint."""
    voice = MistralVoice(TEST_KEY, "fake-model", fake.url, timeout=timeout)
    return GameService(Opponent(voice, random.Random(7)))


@pytest.fixture
def rest_client(service):
    app = create_app(service)
    yield app.test_client()
    app.extensions["tictactoe.loop"].close()


@pytest.fixture
async def mcp(service):
    """An in-memory MCP client on a handshake-era session, like a LeChat connection over SSE."""
    async with Client(build_mcp(service), mode="legacy") as client:
        yield client


@pytest.fixture
async def browser():
    """Debian's Chromium, headless, driven by Playwright (which downloads no browser of its own)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()
