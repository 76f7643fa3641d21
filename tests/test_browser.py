"""The pages in a real headless Chromium (Debian's), against the real server on 127.0.0.1."""

import re
from pathlib import Path

import pytest
from fastmcp import Client
from playwright.async_api import Page, expect

from tests.conftest import TEST_KEY
from tests.fake_mistral import FakeMistral
from tests.servers import ROOT, Served
from tests.test_people import Inbox

SCREENSHOTS = ROOT / "test-artifacts"
THINKING = 0.8  # seconds the fake Mistral takes, long enough to see the page say so


@pytest.fixture(scope="module")
def server():
    fake = FakeMistral(delay=THINKING).start()
    served = Served("mcp_server.py", MISTRAL_API_KEY=TEST_KEY, MISTRAL_SERVER_URL=fake.url, MISTRAL_MODEL="fake")
    yield served
    served.stop()
    fake.stop()


async def new_page(browser, server, **options) -> Page:
    """A page in a fresh browser context (its own storage), failing the test on any script error."""
    page = await (await browser.new_context(**options)).new_page()
    page.on("pageerror", lambda error: pytest.fail(f"script error: {error}"))
    return page


async def start_game(page: Page, server, level: str, name: str = "") -> str:
    """New game from the home page; the room id, from the page's address."""
    await page.goto(f"{server.url}/")
    await page.fill("#player-name", name)
    await page.select_option("#difficulty", level)
    await page.click("text=New game")
    await page.wait_for_url(re.compile(r"/rooms/[\w-]{22}/view$"))
    return page.url.split("/")[-2]


def cell(page: Page, index: int):
    return page.locator(f'.cell[data-cell="{index}"]')


async def test_play_a_game_from_the_page_by_mouse_and_keyboard(browser, server):
    page = await new_page(browser, server)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    await start_game(page, server, "hard")
    await expect(page.locator("#status")).to_have_text("Your turn: you are X")
    await cell(page, 0).click()
    await expect(cell(page, 4)).to_have_text("O", timeout=5000)  # hard answers a corner with the centre
    await expect(page.locator("#moves li")).to_have_text(["X on 0", "O on 4 (engine)"])
    await expect(page.locator("#chat li")).to_have_count(2)  # the welcome, then the line about its move
    await cell(page, 0).focus()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(cell(page, 6)).to_have_attribute("aria-label", "Cell 6: X")
    await expect(page.locator("#status")).to_have_text("Your turn: you are X", timeout=5000)
    await cell(page, 4).click()
    await expect(page.locator("#notice")).to_have_text(re.compile(r"^Cell 4 is taken by O\."))
    await page.fill("#message", "Nice centre.")
    await page.click("text=Send")
    await expect(page.locator("#chat li").nth(-2)).to_have_text("You: Nice centre.")
    assert all(url.startswith(server.url) for url in requested), [u for u in requested if not u.startswith(server.url)]


async def test_a_move_from_mcp_appears_live_and_spectators_watch_without_playing(browser, server):
    page = await new_page(browser, server)
    room_id = await start_game(page, server, "easy")
    watch_url = await page.get_attribute("#watch-link", "href")
    spectator = await new_page(browser, server)
    await spectator.goto(watch_url)
    await expect(spectator.locator("#status")).to_have_text("X to move")
    async with Client(f"{server.url}/sse") as client:
        await client.call_tool("make_move", {"position": 8, "room_id": room_id})
    await expect(cell(page, 8)).to_have_text("X", timeout=1000)
    await expect(cell(spectator, 8)).to_have_text("X", timeout=1000)
    await expect(page.locator("#moves li")).to_have_count(2, timeout=3000)
    board = await spectator.locator(".cell").all_inner_texts()
    await cell(spectator, 2).click()
    await expect(spectator.locator("#notice")).to_have_text(
        "You are watching this game: only its player can move. Start your own from the home page."
    )
    assert await spectator.locator(".cell").all_inner_texts() == board
    assert room_id not in await spectator.content()


async def test_the_page_shows_the_opponent_thinking_and_going_offline(browser, server):
    page = await new_page(browser, server)
    await start_game(page, server, "")  # Mistral chooses: the fake takes THINKING seconds
    await expect(page.locator("#level")).to_have_text("Mistral chooses its moves")
    await cell(page, 4).click()
    await expect(page.locator("#status.thinking")).to_have_text("Mistral is thinking…")
    await expect(page.locator("#status")).to_have_text("Your turn: you are X", timeout=5000)
    await expect(page.locator("#connection")).to_have_text("live")
    await page.context.set_offline(True)
    await expect(page.locator("#connection")).to_have_text("offline: reconnecting…")
    await page.context.set_offline(False)
    await expect(page.locator("#connection")).to_have_text("live", timeout=10000)


async def test_a_finished_game_on_a_phone(browser, server):
    page = await new_page(browser, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    await start_game(page, server, "hard")
    while await page.locator("#status").inner_text() == "Your turn: you are X":
        moves = await page.locator("#moves li").count()
        await page.locator('.cell:not([data-mark="X"]):not([data-mark="O"])').first.tap()
        await expect(page.locator("#moves li")).not_to_have_count(moves, timeout=5000)  # the X landed
        await expect(page.locator("#status")).not_to_have_text("Mistral is thinking…", timeout=5000)
    await expect(page.locator("#status")).to_have_text(re.compile(r"^(O-Bot won\.|Mistral won\.|It's a draw\.)$"))
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= 390  # nothing runs off a phone's screen
    box = await page.locator("#board").bounding_box()
    assert box["width"] <= 390
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "finished-game.png"), full_page=True)
    assert Path(SCREENSHOTS / "finished-game.png").stat().st_size > 10_000


async def test_a_finished_game_replays_move_by_move(browser, server):
    page = await new_page(browser, server)
    room_id = await start_game(page, server, "easy", name="Replayer")
    await expect(page.locator("#replay")).to_be_hidden()
    while (await page.locator("#status").inner_text()).startswith("Your turn"):
        moves = await page.locator("#moves li").count()
        await page.locator('.cell:not([data-mark="X"]):not([data-mark="O"])').first.click()
        await expect(page.locator("#moves li")).not_to_have_count(moves, timeout=5000)
        await expect(page.locator("#status")).not_to_have_text("Mistral is thinking…", timeout=5000)
    final = await page.locator(".cell").all_inner_texts()
    total = await page.locator("#moves li").count()
    await expect(page.locator("#replay-at")).to_have_text(f"Move {total} of {total}")
    async with Client(f"{server.url}/sse") as client:
        history = (await client.call_tool("get_game_history", {"room_id": room_id})).structured_content
    for count in range(total - 1, -1, -1):  # back to the empty board, a move at a time, as the history has it
        await page.click("#replay-back")
        await expect(page.locator("#replay-at")).to_have_text(f"Move {count} of {total}")
        expected = history["moves"][count - 1]["board"] if count else [""] * 9
        assert [text if text in ("X", "O") else "" for text in await page.locator(".cell").all_inner_texts()] == (
            expected
        )
    await expect(page.locator("#replay-back")).to_be_disabled()
    await page.click("#replay-start")  # plays itself to the end
    await expect(page.locator("#replay-at")).to_have_text(f"Move {total} of {total}", timeout=total * 1000 + 2000)
    assert await page.locator(".cell").all_inner_texts() == final
    assert history["players"]["X"]["name"] == "Replayer"
    assert {move["via"] for move in history["moves"]} == {"page", "server"}
    await page.goto(f"{server.url}/")
    await expect(page.locator("#leaders tr").first).to_contain_text("Replayer")
    await expect(page.locator("#player-name")).to_have_value("Replayer")


async def test_the_home_page_lists_recent_games_and_connector_urls(browser, server):
    page = await new_page(browser, server)
    await start_game(page, server, "medium")
    await page.goto(f"{server.url}/")
    await expect(page.locator("#games li")).to_have_count(1)
    await expect(page.locator("#games li")).to_contain_text("your turn, 0 moves")
    await expect(page.locator("#sse-url")).to_have_text(f"{server.url}/sse")


async def test_a_person_in_the_browser_joins_by_link_and_plays_a_chat_user(browser, server):
    inbox = Inbox()
    async with Client(f"{server.url}/sse", message_handler=inbox) as chat_user:
        room = (await chat_user.call_tool("create_room", {"opponent": "human", "name": "Chatty"})).structured_content
        page = await new_page(browser, server)
        await page.goto(room["links"]["play"])
        await expect(page.locator("#status")).to_have_text("Waiting for a second player: share this page's address.")
        await page.fill("#name", "Browsy")
        await page.click("text=Join this game")
        await expect(page.locator("#level")).to_have_text(re.compile(r"^you are [XO]$"))
        found = await inbox.next_event("chatroom.found")
        assert found["partner"] == "Browsy"
        browser_mark = (await page.locator("#level").inner_text())[-1]
        if browser_mark == "O":  # the chat user is X and moves first
            await chat_user.call_tool("make_move", {"position": 0})
            await expect(cell(page, 0)).to_have_text("X", timeout=1000)
        await expect(page.locator("#status")).to_have_text(f"Your turn: you are {browser_mark}")
        await cell(page, 4).click()
        told = await inbox.next_event("move.made")
        assert (told["position"], told["mark"]) == (4, browser_mark)
        await expect(page.locator("#status")).to_have_text("Waiting for Chatty's move…")
        await cell(page, 8).click()
        await expect(page.locator("#notice")).to_have_text(
            "It is the other player's turn: wait for their move (wait_for_turn)."
        )
        await page.fill("#message", "Your move!")
        await page.click("text=Send")
        assert (await inbox.next_event("message.received"))["text"] == "Your move!"
