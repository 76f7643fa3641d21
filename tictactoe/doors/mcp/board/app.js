// The board inside a chat (MCP Apps). It speaks JSON-RPC with the host over postMessage and reaches the server only
// through the host's tools/call. It shows the result of the tool the chat called (ui/notifications/tool-result),
// plays a click with make_move, and in a game for two waits for the other player with wait_for_turn.
// The spec's wire is a few messages, written out here: the SDK's App class weighs 540 KB with its dependencies.
"use strict";

const PROTOCOL_VERSION = "2026-01-26"; // the MCP Apps spec this board speaks
const WAIT_SECONDS = 25; // one wait_for_turn, well inside a host's patience for a call; on `timeout` it asks again
const QUEUE_POLL_MS = 3000; // in the pairing queue: how often to ask again (which also keeps the place)
const OVER = ["won", "lost", "draw", "finished"];
const WAITED_ON = ["opponent_turn", "waiting_for_opponent"]; // statuses in which a seat in a game for two waits
const cells = [...document.querySelectorAll(".cell")];
const pending = new Map(); // JSON-RPC id -> the promise of its answer
let lastId = 0;
let asked = {}; // the arguments of the tool the chat called
let room = null; // the room as last shown, from the board's seat
let seat = { room_id: "", player_token: "" }; // what every call about the room carries
let waiting = false; // a wait_for_turn loop is running
let moving = false; // a move is on its way

function byId(id) {
  return document.getElementById(id);
}

// --- The host: JSON-RPC over postMessage ---

function request(method, params) {
  const id = ++lastId;
  window.parent.postMessage({ jsonrpc: "2.0", id, method, params }, "*"); // the sandbox hides the host's origin
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function notify(method, params) {
  window.parent.postMessage({ jsonrpc: "2.0", method, params }, "*");
}

const NOTIFICATIONS = {
  "ui/notifications/tool-input": chatCalled,
  "ui/notifications/tool-result": shown,
  "ui/notifications/tool-cancelled": () => (byId("status").textContent = "The call was cancelled."),
  "ui/notifications/host-context-changed": applyContext,
};
const REQUESTS = { ping: () => ({}), "ui/resource-teardown": () => ({}) }; // nothing to save before going

window.addEventListener("message", (event) => {
  const message = event.data;
  if (event.source !== window.parent || message?.jsonrpc !== "2.0") return; // only the host speaks to the board
  if (message.method === undefined) {
    answered(message);
  } else if (message.id === undefined) {
    NOTIFICATIONS[message.method]?.(message.params || {});
  } else {
    const handler = REQUESTS[message.method];
    const answer = handler
      ? { result: handler(message.params) }
      : { error: { code: -32601, message: `The board does not handle ${message.method}.` } };
    window.parent.postMessage({ jsonrpc: "2.0", id: message.id, ...answer }, "*");
  }
});

function answered(message) {
  const call = pending.get(message.id);
  if (call === undefined) return;
  pending.delete(message.id);
  if (message.error) call.reject(new Error(message.error.message));
  else call.resolve(message.result);
}

// The host's theme, and its colours and font where it gives them (app.css falls back on the board's own).
function applyContext(context) {
  const root = document.documentElement;
  if (context.theme) root.dataset.theme = context.theme;
  for (const [name, value] of Object.entries(context.styles?.variables || {})) {
    if (value) root.style.setProperty(name, value);
  }
}

// The host sizes the frame to the board: it cannot see inside it.
function reportSize() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  notify("ui/notifications/size-changed", { height });
}

// --- The game: every answer goes through `shown` ---

async function call(name, args) {
  let result;
  try {
    result = await request("tools/call", { name, arguments: args });
  } catch (error) {
    notice(`The host did not pass on ${name}: ${error.message}`);
    return null;
  }
  return shown(result);
}

function inRoom(args) {
  const token = seat.player_token ? { player_token: seat.player_token } : {};
  return { room_id: seat.room_id, ...token, ...args }; // the room is named on every call: hosts may keep no session
}

// The arguments of the tool the chat called: the room and seat it named, if it named them.
function chatCalled(params) {
  asked = params.arguments || {};
  seat = { room_id: asked.room_id || "", player_token: asked.player_token || "" };
}

// A tool's result on the board.
function shown(result) {
  const answer = result.structuredContent || {};
  if (result.isError) {
    notice(answer.error?.message || "The server refused that.");
    if (answer.room) update(answer.room);
    return null;
  }
  notice("");
  if (answer.queue === "waiting") {
    byId("status").textContent = `Waiting for a partner: you are number ${answer.position} in the queue.`;
    setTimeout(() => call("enter_queue", { ticket: answer.ticket }), QUEUE_POLL_MS);
  } else {
    update(answer);
  }
  return answer;
}

function update(answer) {
  if (room && answer.room_id === room.room_id && answer.version < room.version) return; // an older view came late
  const kept = answer.room_id === seat.room_id ? seat.player_token : ""; // answers give a token only with a seat
  seat = { room_id: answer.room_id, player_token: answer.player_token || kept };
  room = answer;
  render();
  waitForTurn();
}

function twoPeople() {
  return room.opponent.moves_chosen_by === "human";
}

function render() {
  renderCells(cells, room.board, room.winning_line || []);
  const status = byId("status");
  status.textContent = headline(room, {
    twoPeople: twoPeople(),
    watching: false,
    waiting: "Waiting for a second player to join.",
  });
  status.classList.toggle("thinking", room.opponent.thinking || (moving && !twoPeople()));
  byId("players").textContent = players(room);
  const said = room.chat.findLast((line) => line.from === "opponent");
  byId("said").hidden = said === undefined;
  if (said) byId("said").textContent = `${room.opponent.name || "Them"}: “${said.text}”`;
  byId("talk").hidden = room.chat.length === 0;
  byId("chat").replaceChildren(...chatItems(room, "You"));
  byId("chat").scrollTop = byId("chat").scrollHeight;
  byId("board").setAttribute("aria-busy", String(moving || waiting));
  byId("new-game").hidden = twoPeople() || !OVER.includes(room.status); // a game for two is set up in the chat
}

function players(room) {
  const opponent = room.opponent;
  if (!room.your_mark) return "You are watching this game.";
  const them = twoPeople() ? "a person" : opponent.difficulty ? `engine, ${opponent.difficulty}` : "Mistral";
  return `You: ${room.your_mark} · ${opponent.name || "the other player"}: ${opponent.mark} (${them})`;
}

function notice(text) {
  byId("notice").textContent = text;
}

async function play(position) {
  if (!room || room.status !== "your_turn" || room.board[position] || moving) return;
  const before = room;
  const board = room.board.map((mark, index) => (index === position ? room.your_mark : mark));
  room = { ...room, board, status: "opponent_turn" }; // the mark shows at once; the answer brings the reply
  moving = true;
  render();
  const answer = await call("make_move", inRoom({ position, expected_version: before.version }));
  moving = false;
  if (answer === null && room.board === board) room = before; // refused with no board to show: as it was
  render();
}

// In a game for two, until it is the board's turn or the game is over; each answer is shown as it comes.
async function waitForTurn() {
  if (waiting || !twoPeople() || !room.your_mark) return;
  waiting = true;
  while (WAITED_ON.includes(room.status)) {
    if ((await call("wait_for_turn", inRoom({ timeout_seconds: WAIT_SECONDS }))) === null) break;
  }
  waiting = false;
  render();
}

cells.forEach((cell, index) => cell.addEventListener("click", () => play(index)));
moveWithArrows(cells);
byId("new-game").addEventListener("click", () =>
  call("create_room", { difficulty: room.opponent.difficulty || "", name: asked.name || "" }),
);

async function start() {
  const appInfo = { name: "tictactoe-board", version: "1.0.0" };
  const params = { appInfo, appCapabilities: {}, protocolVersion: PROTOCOL_VERSION };
  const { hostContext } = await request("ui/initialize", params);
  applyContext(hostContext || {});
  notify("ui/notifications/initialized", {});
  new ResizeObserver(reportSize).observe(document.documentElement);
}

start();
