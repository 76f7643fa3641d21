"""The package's layers import inward only: the game knows nothing of rooms, rooms nothing of the opponent, and so
on out to serving; and the game uses the standard library alone."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tictactoe"
LAYERS = ("game", "state", "players", "services", "doors", "serving")  # innermost first


def imports(path: Path) -> set[str]:
    """Every module `path` imports, as written (relative imports are not used in this package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules_of(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_layer_outside_it(layer):
    outer = LAYERS[LAYERS.index(layer) + 1 :]
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules_of(layer)
        for name in imports(path)
        if name.startswith(tuple(f"tictactoe.{o}" for o in outer))
    }
    assert wrong == set()


def test_every_module_is_in_a_layer():
    loose = [path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]
    assert loose == []
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(LAYERS)


def test_the_game_uses_the_standard_library_alone():
    outside = {
        name
        for path in modules_of("game")
        for name in imports(path)
        if not name.startswith("tictactoe.game") and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside == set()
