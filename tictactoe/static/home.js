// The landing page: start a game, and list this browser's recent games with how each stands.
"use strict";

const STATUS_TEXT = { your_turn: "your turn", opponent_turn: "opponent thinking", won: "won", lost: "lost", draw: "draw" };

document.getElementById("new-game").addEventListener("submit", async (event) => {
  event.preventDefault();
  const difficulty = document.getElementById("difficulty").value;
  const notice = document.getElementById("notice");
  notice.textContent = "";
  const { ok, body } = await send("POST", "/rooms", difficulty ? { difficulty } : {});
  if (!ok) {
    notice.textContent = body.error.message;
    return;
  }
  rememberGame(body);
  window.location.assign(body.links.play);
});

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

listGames();
