"""The config's one exception, in its own module so every config module can raise it."""

from ..errors import HubsteadError


class ConfigError(HubsteadError):
    """The config is invalid; the message names the key and what is wrong."""
