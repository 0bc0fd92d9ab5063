"""Private-network keys (``swarm.key``) for Kubo.

A node whose repository holds a ``swarm.key`` only talks to peers holding the
same key (libp2p pnet, a pre-shared key over every connection). The file is
three lines::

    /key/swarm/psk/1.0.0/
    /base16/
    <64 lowercase hex characters = 32 random bytes>

From the shell, ``ipfs-config/swarm-key.sh [PATH]`` writes the same format.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from orbitstore.errors import ConfigError

__all__ = ["generate_swarm_key", "parse_swarm_key", "write_swarm_key"]

_HEADER = "/key/swarm/psk/1.0.0/"
_ENCODING = "/base16/"
_KEY_BYTES = 32


def generate_swarm_key() -> str:
    """Return the text of a new random swarm key (with a trailing newline)."""
    return f"{_HEADER}\n{_ENCODING}\n{secrets.token_hex(_KEY_BYTES)}\n"


def parse_swarm_key(text: str) -> bytes:
    """Return the 32 key bytes of a swarm key file, or raise :class:`ConfigError`."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) != 3 or lines[0] != _HEADER or lines[1] != _ENCODING:
        raise ConfigError(f"not a swarm key: expected {_HEADER!r}, {_ENCODING!r} and 64 hex characters")
    key = lines[2]
    if len(key) != 2 * _KEY_BYTES:
        raise ConfigError(f"swarm key must be {2 * _KEY_BYTES} hex characters, got {len(key)}")
    try:
        return bytes.fromhex(key)
    except ValueError as exc:
        raise ConfigError("swarm key is not hexadecimal") from exc


def write_swarm_key(path: str | os.PathLike[str], text: str | None = None) -> str:
    """Write ``text`` (a new key when ``None``) to ``path`` with mode 0600; return the text.

    Refuses to overwrite an existing file, so a network's key is not lost by accident.
    """
    text = generate_swarm_key() if text is None else text
    parse_swarm_key(text)
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigError(f"{target} exists; remove it first to replace the swarm key") from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    return text
