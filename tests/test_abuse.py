"""The test that counts: one hostile client (127.0.0.2) against an honest player (127.0.0.3), on a real server.

Each attack of bench/abuse.py runs for a few seconds while the honest player plays whole games over REST and MCP;
every honest call must be answered, within the player's patience (3 s), all along. The server's deadlines are
shortened (REQUEST_SECONDS=1, idle sessions closed after 3 s) so that they show within the attack.
"""

from collections import Counter

import pytest

from bench import abuse
from tests.servers import Served, http

SECONDS = 3.0


def started() -> Served:
    return Served("mcp_server.py", LOG_LEVEL="warning", REQUEST_SECONDS="1", SESSION_IDLE_MINUTES="0.05",
                  **abuse.HONEST_PACE)  # fmt: skip


@pytest.fixture(scope="module")
def server():
    served = started()
    yield served
    served.stop()


@pytest.fixture
def fresh_server():
    """A server of its own: the attacks before have spent the attacker's MCP sessions for the minute."""
    served = started()
    yield served
    served.stop()


def statuses(tally: abuse.Tally) -> Counter:
    """The HTTP statuses the attacker got, without the connection events."""
    return Counter({label: count for label, count in tally.answers.items() if label.isdigit()})


async def attacked(server, name: str) -> abuse.Tally:
    """Run attack `name` beside the honest player; check the player was served and the room attacked is as it
    was, and give what the attacker got."""
    attacker, honest, _, target = await abuse.run_attack(server, abuse.ATTACKS[name], SECONDS)
    assert honest.times, "the honest player made no call"
    assert abuse.failures(honest) == 0, honest.answers
    assert honest.worst() < abuse.PATIENCE
    status, room = http("GET", f"{server.url}/rooms/{target['room_id']}")
    assert (status, room["version"], room["chat"]) == (200, target["version"], target["chat"])
    return attacker


async def test_headers_that_never_end_are_cut_off_at_the_deadline(server):
    attacker = await attacked(server, "slow_headers")
    assert statuses(attacker) == {"408": 200}


async def test_stalled_bodies_hold_no_worker_and_time_out(server):
    attacker = await attacked(server, "stalled_bodies")
    assert statuses(attacker) == {"429": 200 - 32, "408": 32}  # 32: one client's requests under way at once


async def test_idle_connections_are_capped_per_address_and_closed_at_the_deadline(server):
    attacker = await attacked(server, "idle_connections")
    assert statuses(attacker) == {"429": 1000 - 256}
    assert attacker.answers["closed by server after nothing"] == 256  # no request within the deadline


async def test_a_crowd_of_viewers_from_one_address_gets_its_share(server):
    attacker = await attacked(server, "viewers")
    assert statuses(attacker) == {"200": 16, "503": 256 - 16, "429": 1000 - 256}


async def test_sse_sessions_are_rate_limited_and_closed_when_idle(server):
    attacker = await attacked(server, "sse_sessions")
    assert statuses(attacker) == {"200": 30, "429": 300 - 30}  # a burst of 30 a minute
    assert attacker.answers["ended by server after 200"] == 30  # idle for 3 s


async def test_an_initialize_flood_opens_no_more_sessions_than_the_share(server):
    attacker = await attacked(server, "initialize_flood")
    assert statuses(attacker)["200"] <= 30  # the sessions a minute one client may open, bursts included
    assert statuses(attacker)["429"] > 1000


async def test_a_flood_of_reads_leaves_the_honest_player_its_turn(server):
    attacker = await attacked(server, "request_flood")
    assert set(statuses(attacker)) == {"200"}  # each read is answered at once: none is under way long enough to queue


async def test_bodies_that_cannot_be_stored_are_refused_and_nothing_is_stored(server):
    attacker = await attacked(server, "bad_bodies")
    assert set(statuses(attacker)) == {"400", "413"}


async def test_calls_to_a_session_whose_stream_is_never_read_pile_up_no_further_than_its_share(fresh_server):
    attacker = await attacked(fresh_server, "unread_calls")
    assert set(statuses(attacker)) == {"202", "429"}  # accepted while answers still leave, refused once they stop
