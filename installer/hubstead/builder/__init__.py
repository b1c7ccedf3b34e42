"""Binder on the hub: a Binder-ready repository becomes an environment and a launch link.

This first layer reads what a launch link asks for (launch), fetches the repository at a
resolved commit (fetch) and reads its repo2docker configuration files (repofiles). Each
expected failure is a BuilderError whose message is one line saying which.
"""

from ..envs import EnvError


# A subclass of EnvError, so every place that already prints an environment failure as
# one line (the CLI, the web page) prints a builder failure the same way, with no change.
class BuilderError(EnvError):
    """An expected builder failure: a refused link, an unreachable repository, a file
    this hub cannot honour. The message is one line naming which."""
