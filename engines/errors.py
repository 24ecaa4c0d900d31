"""One error type for everything a user can get wrong: the message names the thing, the value and the fix."""


class Art2MusError(Exception):
    """A problem with input, a bundle or a setting that the user can fix; the CLI prints it without a traceback."""


class ConfigError(Art2MusError):
    """The configuration names something that does not exist (a sound device, a bundle): retrying will
    not help, so a supervisor does not restart the process that raised it."""
