"""Binder on the hub: a Binder-ready repository becomes an environment and a launch link.

- launch: what a /v2/... link asks for (provider, repository, ref, landing path);
- fetch: the repository at a resolved commit, through a cache of bare mirrors;
- repofiles: its repo2docker configuration files, and the cache key of a build;
- records: builds in hubstead's SQLite DB, one running build per cache key, logs;
- pipeline: plan, request, cancel, and what a launch needs (server options, content URL);
- run (root, unit hubstead-build-ID), sandbox + worker (builder account, sandboxed unit).

Each expected failure is a BuilderError whose message is one line saying which.
"""

from ..errors import HubsteadError


class BuilderError(HubsteadError):
    """An expected builder failure: a refused link, an unreachable repository, a file
    this hub cannot honour. The message is one line naming which."""
