"""What a command does with a user's mistake: one line naming the file or key, exit code 2.

Every stage goes through `run` and both console scripts through `call`, so the error path is the
same everywhere. Only `srcore.common.errors` is imported here: a stage pulls in just the modules it
uses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from srcore.common.errors import UserError

USER_ERRORS = (UserError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """--help: the description as written, and `(default: X)` after each option that has a
    default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:  # nothing to show; the help text says what happens
            return action.help
        return super()._get_help_string(action)


def call(main: Callable[..., object], *args: object) -> int:
    """main(*args) -> its int exit code (0 for None).

    A user error prints `error: <message>` on one line to stderr and gives 2, without a traceback.
    """
    try:
        code = main(*args)
    except USER_ERRORS as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0


def run(main: Callable[[], object]) -> None:
    """The entry point of every stage: `sys.exit(call(main))`."""
    sys.exit(call(main))


def one_line(e: BaseException) -> str:
    """The exception's message on one line: later lines are joined with `; ` (or a space after
    `:`)."""
    text = ""
    for part in (line.strip() for line in (str(e) or type(e).__name__).splitlines()):
        if part:
            text += part if not text else (" " if text.endswith(":") else "; ") + part
    return text
