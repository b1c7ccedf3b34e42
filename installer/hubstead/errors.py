"""The one base of Hubstead's expected failures.

Each module raises its own subclass (ConfigError, EnvError, UserError, ...), whose message
is one or two lines saying what went wrong and what to do. The front ends catch this
base once: the CLI prints `error: MESSAGE` and exits 1, the web service answers
{"message": MESSAGE}. Anything else is a bug and keeps its traceback.
"""


class HubsteadError(Exception):
    """An expected failure; the message is for the person who asked."""
