"""The one exception type the CLI turns into a one-line message and exit status 2."""


class GatysError(Exception):
    """Bad input or a failed precondition; its message says what is wrong and how to fix it."""
