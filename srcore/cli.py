"""What a command does with a user's mistake: one line naming the file or key, exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .checkpoint import ModelFileError
from .fetch import FetchError
from .images import ImageReadError
from .params import ParamError

USER_ERRORS = (ParamError, ModelFileError, FetchError, ImageReadError, FileNotFoundError)


def run(main: Callable[[], object]) -> None:
    """Call main(); a user error prints `error: <message>` to stderr and exits 2, without a traceback."""
    try:
        main()
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
