// The landing page: start a game, list this browser's recent games with how each stands, and the leaderboard.
"use strict";

const STATUS_TEXT = { your_turn: "your turn", opponent_turn: "opponent thinking", won: "won", lost: "lost", draw: "draw" };

document.getElementById("new-game").addEventListener("submit", async (event) => {
  event.preventDefault();
  const difficulty = document.getElementById("difficulty").value;
  const name = document.getElementById("player-name").value;
  const notice = document.getElementById("notice");
  notice.textContent = "";
  const { ok, body } = await send("POST", "/rooms", difficulty ? { difficulty, name } : { name });
  if (!ok) {
    notice.textContent = body.error.message;
    return;
  }
  keepPlayerName(name);
  rememberGame(body);
  window.location.assign(body.links.play);
});
document.getElementById("player-name").value = playerName();

async function listGames() {
  const list = document.getElementById("games");
  const games = recentGames();
  if (!games.length) return;
  const items = [];
  for (const game of games) {
    const { ok, status, body } = await send("GET", `/rooms/${encodeURIComponent(game.room_id)}`);
    if (status === 404) {
      forgetGame(game.room_id);
      continue;
    }
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = game.play;
    link.textContent = new Date(game.created_at * 1000).toLocaleString();
    item.append(link, ` · ${ok ? `${STATUS_TEXT[body.status]}, ${body.moves.length} moves` : "unavailable"}`);
    items.push(item);
  }
  if (items.length) list.replaceChildren(...items);
}

async function showLeaderboard() {
  const { ok, body } = await send("GET", "/stats");
  if (!ok || !body.leaderboard.length) return;
  const rows = body.leaderboard.map((row) => {
    const tr = document.createElement("tr");
    for (const value of [row.rank, row.name, row.wins, row.losses, row.draws]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  });
  document.getElementById("leaders").replaceChildren(...rows);
  document.getElementById("leaderboard").hidden = false;
}

listGames();
showLeaderboard();
