"""The three ways a run can fail, each with its exit status (CONTRACT §1)."""


class FerryError(Exception):
    exit_code = 1


class InputError(FerryError):
    """Unusable input or arguments: exit 2, target untouched.

    The message is one sentence for the user: it names the file, and the row/column
    where there is one, and says what to do.
    """

    exit_code = 2


class TargetError(FerryError):
    """The target failed; the transaction was rolled back, rerunning is safe: exit 3."""

    exit_code = 3
