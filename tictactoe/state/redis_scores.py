"""Scores kept in Redis: the same records and leaderboard as scores.py, counted by the script that saves a finished
room (redis_store.py), so each game counts once whichever process finished it.

Keys: `scores:games` (games counted), `scores:player:<key>` and `scores:name:<name>` (hashes of `<against>:<column>`
counts; a name's also holds its totals), and `scores:board`, every name ordered as the leaderboard ranks them: its
members spell the rank (most wins, fewest losses, most draws, then the name) so that Redis's own order is it.
"""

from __future__ import annotations

from tictactoe.state.redis_link import Link, calling
from tictactoe.state.scores import record

# Lua: count ARGV's rows (key, name, against, column; from `first` on) under the prefix ARGV[1]. Part of the save.
COUNT = """
local function rank(totals, name)
  local most = 999999999999
  return string.format('%012d %012d %012d %s', most - (tonumber(totals[1]) or 0), tonumber(totals[2]) or 0,
                       most - (tonumber(totals[3]) or 0), name)
end
local function count(prefix, first)
  redis.call('INCR', prefix .. 'scores:games')
  for i = first, #ARGV, 4 do
    local key, name, field = ARGV[i], ARGV[i + 1], ARGV[i + 2] .. ':' .. ARGV[i + 3]
    if key ~= '' then redis.call('HINCRBY', prefix .. 'scores:player:' .. key, field, 1) end
    if name ~= '' then
      local named, board = prefix .. 'scores:name:' .. name, prefix .. 'scores:board'
      redis.call('ZREM', board, rank(redis.call('HMGET', named, 'wins', 'losses', 'draws'), name))
      redis.call('HINCRBY', named, field, 1)
      redis.call('HINCRBY', named, ARGV[i + 3], 1)
      redis.call('ZADD', board, 0, rank(redis.call('HMGET', named, 'wins', 'losses', 'draws'), name))
    end
  end
end
"""


class RedisScores:
    """The counts, read from Redis."""

    def __init__(self, link: Link):
        self.link = link

    def leaderboard(self, limit: int = 10) -> list[dict]:
        ranked = calling(self.link.client.zrange, self.link.key("scores", "board"), 0, limit - 1)
        names = [member.decode().split(" ", 3)[3] for member in ranked]
        pipe = self.link.client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.link.key("scores", "name", name))
        return [
            {"rank": rank, "name": name, **_record(counts)}
            for rank, (name, counts) in enumerate(zip(names, calling(pipe.execute), strict=True), start=1)
        ]

    def of_player(self, key: str) -> dict:
        return _record(calling(self.link.client.hgetall, self.link.key("scores", "player", key)))

    def of_name(self, name: str) -> dict:
        return _record(calling(self.link.client.hgetall, self.link.key("scores", "name", name)))

    def games(self) -> int:
        return int(calling(self.link.client.get, self.link.key("scores", "games")) or 0)


def _record(counts: dict[bytes, bytes]) -> dict:
    """A record from a hash of `<against>:<column>` counts (a name's totals, without a colon, aside)."""
    rows = {}
    for field, count in counts.items():
        against, _, column = field.decode().partition(":")
        if column:
            rows.setdefault(against, {"wins": 0, "losses": 0, "draws": 0})[column] = int(count)
    return record([(against, row["wins"], row["losses"], row["draws"]) for against, row in rows.items()])
