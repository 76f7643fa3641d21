"""One typed model of every answer: each MCP tool declares an outputSchema generated from it, and what a scripted
session that touches every tool gets back conforms to it; the REST document is generated from the same models."""

import jsonschema
import pytest
from fastmcp import Client

from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.doors.openapi import openapi_document
from tictactoe.doors.schemas import schema_of
from tictactoe.state.answers import RoomState, Seated, Turn


@pytest.fixture
async def two_players(service):
    server = build_mcp(service)
    async with Client(server, mode="legacy") as ann, Client(server, mode="legacy") as ben:
        yield ann, ben


async def scripted_session(ann: Client, ben: Client) -> list[tuple[str, dict]]:
    """Every tool once at least, as two players would call them: (tool, structured content) of each answer."""
    answers = []

    async def call(client: Client, tool: str, **arguments) -> dict:
        result = await client.call_tool(tool, arguments, raise_on_error=False)
        assert not result.is_error, result.content[0].text
        answers.append((tool, result.structured_content))
        return result.structured_content

    room = await call(ann, "create_room", difficulty="easy", name="Ann")
    await call(ann, "make_move", position=room["legal_moves"][0], expected_version=room["version"])
    await call(ann, "send_chat", message="Good luck!")
    await call(ann, "get_room_state")
    await call(ann, "list_rooms")
    await call(ann, "get_game_history")
    await call(ann, "get_stats", name="Ann")
    await call(ann, "get_help")
    invitation = await call(ann, "create_room", opponent="human", name="Ann")
    joined = await call(ben, "join_room", room_id=invitation["room_id"], name="Ben")
    first, second = (ann, ben) if invitation["your_mark"] == "X" else (ben, ann)
    await call(first, "make_move", position=4, room_id=invitation["room_id"])
    await call(second, "wait_for_turn", room_id=invitation["room_id"], timeout_seconds=0)
    await call(ben, "leave_chat", room_id=joined["room_id"])
    await call(ann, "enter_queue", name="Ann")
    await call(ann, "leave_queue")
    await call(ann, "enter_queue", name="Ann")
    await call(ben, "enter_queue", name="Ben")
    return answers


async def test_every_tool_declares_an_output_schema_and_its_answers_conform(two_players):
    ann, ben = two_players
    tools = {tool.name: tool for tool in await ann.list_tools()}
    assert [name for name, tool in tools.items() if not tool.output_schema] == []
    answers = await scripted_session(ann, ben)
    assert {tool for tool, _ in answers} == set(tools)
    for tool, answer in answers:
        jsonschema.validate(answer, tools[tool].output_schema, cls=jsonschema.Draft202012Validator)


async def test_the_rest_document_and_the_tools_describe_a_room_alike(two_players):
    ann, _ = two_players
    tools = {tool.name: tool.output_schema for tool in await ann.list_tools()}
    document = openapi_document()
    components = document["components"]["schemas"]
    for model, tool in ((RoomState, "get_room_state"), (Turn, "make_move"), (Seated, "join_room")):
        published = components[model.__name__]
        assert (
            published["properties"].keys() == tools[tool]["properties"].keys() == schema_of(model)["properties"].keys()
        )
        assert published["required"] == tools[tool]["required"]


def test_no_answer_schema_is_written_by_hand():
    document = openapi_document()
    models = set(document["components"]["schemas"])
    assert {"RoomState", "Turn", "Seated", "History", "Stats", "ErrorAnswer", "BusyAnswer", "Health"} <= models
    assert {"NewRoom", "Move", "Chat", "Join", "Leave"} <= models  # the request bodies, typed as MCP's arguments
