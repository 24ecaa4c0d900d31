"""One error type for everything a user can get wrong: the message names the thing, the value and the fix."""


class Art2MusError(Exception):
    """A problem with input, a bundle or a setting that the user can fix; the CLI prints it without a traceback."""
