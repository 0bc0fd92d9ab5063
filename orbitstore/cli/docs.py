"""``docs/cli.md``'s command reference, generated from the commands' ``--help``.

``python -m orbitstore.cli.docs docs/cli.md`` rewrites the part of the page
between the markers; ``tests/cli`` checks the page is up to date.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from orbitstore.cli.main import cli

__all__ = ["BEGIN", "END", "commands", "reference", "update"]

BEGIN = "<!-- BEGIN GENERATED REFERENCE: python -m orbitstore.cli.docs docs/cli.md -->"
END = "<!-- END GENERATED REFERENCE -->"


def commands(
    command: click.Command = cli, ctx: click.Context | None = None, name: str = "orbitstore"
) -> Iterator[tuple[str, click.Command, click.Context]]:
    """Every command and group, depth first, with its full name and a context for its help."""
    own = click.Context(command, info_name=name, parent=ctx, terminal_width=100, max_content_width=100)
    yield own.command_path, command, own
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(own):
            sub = command.get_command(own, sub_name)
            if sub is not None:
                yield from commands(sub, own, sub_name)


def reference() -> str:
    """The generated reference: one section per command with its help text."""
    parts = []
    for path, command, ctx in commands():
        level = "##" if path == "orbitstore" else "###"
        parts.append(f"{level} `{path}`\n\n```text\n{command.get_help(ctx)}\n```\n")
    return "\n".join(parts)


def update(page: Path) -> bool:
    """Rewrite the reference in ``page``; True when it changed."""
    text = page.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n\n{reference()}\n{END}{tail}"
    if new == text:
        return False
    page.write_text(new)
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cli.md")
    print(f"{target}: {'updated' if update(target) else 'up to date'}")
