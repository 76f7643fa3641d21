// What both boards share, the live page's and the one inside a chat (MCP Apps, inlined there by the server):
// the cells, the headline, the chat lines and moving between cells with the arrow keys.
"use strict";

function renderCells(cells, board, winningLine) {
  const winning = new Set(winningLine);
  cells.forEach((cell, index) => {
    const mark = board[index];
    cell.dataset.mark = mark;
    if (mark) {
      cell.textContent = mark;
    } else {
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = index;
      cell.replaceChildren(hint);
    }
    cell.classList.toggle("win", winning.has(index));
    cell.setAttribute("aria-label", `Cell ${index}: ${mark || "empty"}${winning.has(index) ? ", winning line" : ""}`);
  });
}

// `watching`: a spectator of a game against the opponent; `waiting`: what to say until a second player joins.
function headline(room, { twoPeople, watching, waiting }) {
  const name = room.opponent.name || "the other player";
  return {
    your_turn: watching ? "X to move" : `Your turn: you are ${room.your_mark}`,
    opponent_turn: twoPeople ? `Waiting for ${name}'s move…` : `${name} is thinking…`,
    waiting_for_opponent: waiting,
    watching: `${room.turn} to move`,
    // Without a winner, a free cell means no game was played: the room's maker left before anyone joined.
    finished: room.winner ? `${room.winner} won.` : room.board.includes("") ? "Closed: nobody joined." : "It's a draw.",
    won: watching ? "X won!" : "You won! 🎉",
    lost: `${name} won.`,
    draw: "It's a draw.",
  }[room.status];
}

function item(first, rest, bold = false) {
  const li = document.createElement("li");
  const head = document.createElement(bold ? "strong" : "span");
  head.textContent = first;
  li.append(head, rest);
  return li;
}

// `you`: what to call the lines of whoever looks at the board.
function chatItems(room, you) {
  const speakers = { you, opponent: room.opponent.name || "Them", X: "X", O: "O" };
  return room.chat.map((line) => item(`${speakers[line.from]}: `, line.text, true));
}

function moveWithArrows(cells) {
  cells.forEach((cell, index) => {
    cell.addEventListener("keydown", (event) => {
      // Arrow keys move between cells, as in any grid; Enter and Space play, as buttons do.
      const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -3, ArrowDown: 3 }[event.key];
      if (step !== undefined && cells[index + step]) {
        event.preventDefault();
        cells[index + step].focus();
      }
    });
  });
}
