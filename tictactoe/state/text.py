"""Text from callers, checked once by the service layer before the state layer keeps it: what cannot be stored
(a lone surrogate cannot be encoded, so a room holding one could never be saved or shown again) or, in what
people read, shown safely (control characters) never gets in."""

from __future__ import annotations

import re

from tictactoe.game.errors import InvalidRequest

CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 and C1 (and DEL), but tab, newline and carriage return
SURROGATES = r"\ud800-\udfff"  # alone, they are not Unicode text, and UTF-8 cannot encode them
UNSTORABLE = re.compile(f"[{SURROGATES}]")
UNSHOWABLE = re.compile(f"[{CONTROLS}{SURROGATES}]")


def one_line(text: str, limit: int) -> str:
    """Text as a single line of at most `limit` characters, so it cannot lay out a board or heading of its own."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def valid_text(value: str, field: str, shown: bool = True) -> str:
    """`value` if it can be stored and, when `shown` to people (a name, a message, not a token), shown safely;
    else InvalidRequest naming `field`."""
    unfit = (UNSHOWABLE if shown else UNSTORABLE).search(value)
    if unfit is not None:
        rule = " without control characters (tabs and line breaks aside)" if shown else ""
        raise InvalidRequest(f"{field} must be valid Unicode text{rule}; it has U+{ord(unfit.group()):04X}.")
    return value
