// What both pages share: calls to the REST API (with the access token, if the server asks for one),
// the list of this browser's recent games, and the name this browser plays under.
"use strict";

const TOKEN_KEY = "tictactoe.token";
const GAMES_KEY = "tictactoe.games";
const NAME_KEY = "tictactoe.name";
const GAMES_KEPT = 10;

async function send(method, url, body, asked = false) {
  // X-Client: page: the game's history says these moves and lines came from the page, not from another REST client.
  const headers = { "Content-Type": "application/json", "X-Client": "page" };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    return { ok: false, status: 0, body: { error: { message: "The server cannot be reached. Check your connection." } } };
  }
  const answer = await response.json().catch(() => ({ error: { message: `The server answered ${response.status}.` } }));
  if (response.status === 401 && !asked) {
    const given = window.prompt("This server needs its access token (MCP_AUTH_TOKEN) to play:");
    if (given) {
      localStorage.setItem(TOKEN_KEY, given.trim());
      return send(method, url, body, true);
    }
  }
  return { ok: response.ok, status: response.status, body: answer };
}

function recentGames() {
  try {
    return JSON.parse(localStorage.getItem(GAMES_KEY)) || [];
  } catch {
    return [];
  }
}

function rememberGame(state) {
  const games = recentGames().filter((game) => game.room_id !== state.room_id);
  games.unshift({ room_id: state.room_id, play: state.links.play, created_at: state.created_at });
  localStorage.setItem(GAMES_KEY, JSON.stringify(games.slice(0, GAMES_KEPT)));
}

function playerName() {
  return localStorage.getItem(NAME_KEY) || "";
}

function keepPlayerName(name) {
  localStorage.setItem(NAME_KEY, name.trim());
}

function forgetGame(roomId) {
  localStorage.setItem(GAMES_KEY, JSON.stringify(recentGames().filter((game) => game.room_id !== roomId)));
}
