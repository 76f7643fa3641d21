// The live board: renders the room, keeps it current from the server's event stream, and lets the player play;
// once the game is over, it replays it move by move.
"use strict";

const page = document.getElementById("room");
const mode = page.dataset.mode; // "play": the player's page; "watch": a spectator's
const twoPeople = page.dataset.twoPeople === "true"; // a game between two people: a seat is held by its token
const urls = JSON.parse(document.getElementById("urls").textContent);
const cells = [...document.querySelectorAll(".cell")];
const OFFLINE_AFTER_MS = 1500; // a stream that ends on schedule reconnects within a second: not worth a warning
const RETRY_MS = 3000; // after a refused stream (too many live pages), try again this much later
const REPLAY_STEP_MS = 700; // between moves, when the replay plays by itself
const OVER = ["won", "lost", "draw", "finished"]; // statuses of a game that is over, from a seat or not
let state = JSON.parse(document.getElementById("state").textContent);
const seatKey = `tictactoe.seat.${state.room_id}`;
const token = twoPeople && mode === "play" ? localStorage.getItem(seatKey) : null;
let shown = null; // while replaying: how many moves the board shows; null: the board as it stands
let replayTimer;

function boardAfter(moves, count) {
  const board = Array(9).fill("");
  for (const move of moves.slice(0, count)) board[move.position] = move.mark;
  return board;
}

function render(room) {
  const replaying = shown !== null && shown < room.moves.length;
  const board = replaying ? boardAfter(room.moves, shown) : room.board;
  renderCells(cells, board, replaying ? [] : room.winning_line || []);
  const status = document.getElementById("status");
  status.textContent = headline(room, {
    twoPeople,
    watching: mode === "watch" && !twoPeople,
    waiting: "Waiting for a second player: share this page's address.",
  });
  status.classList.toggle("thinking", room.opponent.thinking);
  const level = room.opponent.difficulty;
  document.getElementById("level").textContent = twoPeople
    ? `${room.your_mark ? `you are ${room.your_mark}` : "you are watching"}`
    : level ? `engine, ${level}` : "Mistral chooses its moves";
  document.getElementById("moves").replaceChildren(
    ...room.moves.map((move, index) => {
      const li = item(`${move.mark} on ${move.position}`, move.by === "you" ? "" : ` (${move.by})`);
      li.classList.toggle("current", replaying && index === shown - 1);
      return li;
    }),
  );
  renderReplay(room, replaying);
  const chat = document.getElementById("chat");
  chat.replaceChildren(...chatItems(room, mode === "play" ? "You" : "Player"));
  chat.scrollTop = chat.scrollHeight;
  const join = document.getElementById("join");
  if (join) join.hidden = Boolean(token) || room.status !== "waiting_for_opponent";
  const say = document.getElementById("say");
  if (say) say.hidden = twoPeople && !token;
  const leave = document.getElementById("leave");
  if (leave) leave.hidden = !token || OVER.includes(room.status);
}

function renderReplay(room, replaying) {
  const bar = document.getElementById("replay");
  bar.hidden = !OVER.includes(room.status) || !room.moves.length;
  const at = replaying ? shown : room.moves.length;
  document.getElementById("replay-at").textContent = `Move ${at} of ${room.moves.length}`;
  document.getElementById("replay-back").disabled = at === 0;
  document.getElementById("replay-next").disabled = at === room.moves.length;
}

function showMove(count) {
  clearInterval(replayTimer);
  shown = Math.max(0, Math.min(count, state.moves.length));
  render(state);
}

document.getElementById("replay-start").addEventListener("click", () => {
  showMove(0);
  replayTimer = setInterval(() => {
    shown += 1;
    render(state);
    if (shown >= state.moves.length) clearInterval(replayTimer);
  }, REPLAY_STEP_MS);
});
document.getElementById("replay-back").addEventListener("click", () => showMove((shown ?? state.moves.length) - 1));
document.getElementById("replay-next").addEventListener("click", () => showMove((shown ?? state.moves.length) + 1));

function update(room) {
  if (room.version >= state.version) {
    state = { ...state, ...room };
    render(state);
  }
}

function withSeat(body) {
  return token ? { ...body, player_token: token } : body;
}

function notice(text) {
  document.getElementById("notice").textContent = text;
}

async function play(position) {
  notice("");
  const { ok, body } = await send("POST", urls.move, withSeat({ position }));
  if (ok) {
    update(body);
  } else {
    notice(body.error.message);
    if (body.room) update(body.room);
  }
}

cells.forEach((cell, index) => cell.addEventListener("click", () => play(index)));
moveWithArrows(cells);

const say = document.getElementById("say");
if (say) {
  say.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("message");
    notice("");
    const { ok, body } = await send("POST", urls.chat, withSeat({ message: input.value }));
    if (ok) {
      input.value = "";
      update(body);
    } else {
      notice(body.error.message);
    }
  });
}

let offlineTimer;
function setOnline(online) {
  clearTimeout(offlineTimer);
  const badge = document.getElementById("connection");
  badge.textContent = online ? "live" : "offline: reconnecting…";
  badge.className = `badge ${online ? "live" : "offline"}`;
}

let source;
function connect() {
  source = new EventSource(token ? `${urls.events}?player_token=${encodeURIComponent(token)}` : urls.events);
  source.onopen = () => setOnline(true);
  source.onmessage = (event) => {
    setOnline(true);
    update(JSON.parse(event.data));
  };
  source.onerror = () => {
    clearTimeout(offlineTimer);
    offlineTimer = setTimeout(() => setOnline(false), OFFLINE_AFTER_MS);
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, RETRY_MS);
    }
  };
}

const joinForm = document.getElementById("join");
if (joinForm) {
  joinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = document.getElementById("name").value;
    const { ok, body } = await send("POST", urls.join, { name });
    if (!ok) {
      notice(body.error.message);
      return;
    }
    keepPlayerName(name);
    localStorage.setItem(seatKey, body.player_token);
    window.location.reload(); // the page again, from the new seat
  });
}

const leaveButton = document.getElementById("leave");
if (leaveButton) {
  leaveButton.addEventListener("click", async () => {
    const { ok, body } = await send("POST", urls.leave, { player_token: token });
    if (ok) update(body);
    else notice(body.error.message);
  });
}

window.addEventListener("offline", () => setOnline(false));
window.addEventListener("online", () => {
  if (source.readyState === EventSource.OPEN) setOnline(true); // else onopen will say so
});
const nameInput = document.getElementById("name");
if (nameInput) nameInput.value = playerName();
render(state);
if (token) {
  // A seat kept from an earlier visit may be gone with its room: then this page is a spectator's.
  fetch(urls.state, { headers: { "X-Player-Token": token } }).then((response) => {
    if (response.status === 403) {
      localStorage.removeItem(seatKey);
      window.location.reload();
    }
  });
}
connect();
if (mode === "play") rememberGame(state);
