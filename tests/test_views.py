"""User text stays text in every Markdown the server writes: names and chat cannot become images, links, headings,
HTML or code, whoever reads them (the other player's model above all)."""

import pytest

from tests.test_mcp import call, error_of
from tictactoe.doors.markdown import escaped, history_markdown, room_markdown, stats_markdown
from tictactoe.state.scores import AGAINST

HOSTILE = "# ![x](https://evil.example/p.png) [click](https://evil.example) <b>hi</b> `code` *bold* _it_"
SHOWN = (
    "\\# !\\[x\\](https://evil.example/p.png) \\[click\\](https://evil.example) \\<b\\>hi\\</b\\> "
    "\\`code\\` \\*bold\\* \\_it\\_"
)
AGAINST_NONE = {against: {"wins": 0, "losses": 0, "draws": 0} for against in AGAINST}
NAME = "![a](u) #1 <i>"  # 14 characters: within the 40 a name may have
NAME_SHOWN = "!\\[a\\](u) \\#1 \\<i\\>"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (HOSTILE, SHOWN),
        ("create_room", "create_room"),
        ("snake_case", "snake_case"),
        ("back\\slash", "back\\\\slash"),
        ("Good luck! You're X (Zoë 🎲).", "Good luck! You're X (Zoë 🎲)."),  # nothing special: as it is
        ("a|b ~c~ _d", "a\\|b \\~c\\~ \\_d"),  # one special each
    ],
)
def test_escaped_shows_text_as_it_is(text, shown):
    assert escaped(text) == shown


def test_names_and_chat_between_people_are_text_in_the_room(service):
    seated = service.people.open_room(NAME, "127.0.0.9")
    service.people.join(seated.room.id, "Ben")
    seat = seated.seat
    state = seated.room.to_dict("O" if seat.mark == "X" else "X")  # as the other player, who reads NAME
    markdown = room_markdown(state)
    assert f"{NAME_SHOWN}: {seat.mark} (a person)" in markdown
    assert "![a](u)" not in markdown


async def test_chat_lines_are_text_in_the_room_and_the_history(service):
    seated = service.people.open_room(NAME, "127.0.0.9")
    ben = service.people.join(seated.room.id, "Ben")
    await service.chat(seated.room.id, HOSTILE, token=seated.seat.token)
    markdown = room_markdown(ben.to_dict())
    assert f"> **{NAME_SHOWN}:** {SHOWN}" in markdown
    history = history_markdown(seated.room.history(ben.seat.mark))
    assert f"**{NAME_SHOWN}:** {SHOWN}" in history
    assert "evil.example/p.png)" not in history.replace(SHOWN, "")


def test_names_are_text_on_the_leaderboard():
    stats = {
        "games": 1,
        "leaderboard": [{"rank": 1, "name": NAME, "wins": 1, "losses": 0, "draws": 0, "against": AGAINST_NONE}],
        "player": {"name": NAME, "games": 0},
    }
    markdown = stats_markdown(stats)
    assert f"| 1 | {NAME_SHOWN} | 1 | 0 | 0 |" in markdown
    assert f"**{NAME_SHOWN}**: no finished games yet." in markdown


async def test_a_value_quoted_in_an_error_is_text(mcp):
    code, message = error_of(await call(mcp, "create_room", difficulty="![x](u)"))
    assert (code, message) == ("invalid_request", "difficulty must be one of easy, medium, hard, got '![x](u)'.")
    result = await call(mcp, "create_room", difficulty="![x](u)")
    assert result.content[0].text == (
        "Error (invalid_request): difficulty must be one of easy, medium, hard, got '!\\[x\\](u)'."
    )
