"""The one base class for a user's mistake (a bad setting, a missing or bad file, a wrong device).

Every command catches `UserError` in one place (`srcore.common.cli.run`): one line naming what is
wrong, exit code 2, no traceback. Bugs are other exceptions and keep their traceback.
"""


class UserError(Exception):
    """A mistake the user can fix; the message names the file, key or flag and what is allowed."""


class DeviceError(UserError):
    """A device that was asked for (a --device flag or a `device` key) and cannot be used."""
