"""The exceptions the CLI turns into a one-line message and exit status 2."""


class GatysError(Exception):
    """Bad input or a failed precondition; its message says what is wrong and how to fix it."""


class ConfigError(GatysError):
    """A setting has a bad value; str() is '<setting> <what is wrong>', so that the CLI can
    name the flag instead of the setting."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem
