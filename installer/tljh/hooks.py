"""`from tljh.hooks import hookimpl`, as TLJH plugins write it: Hubstead's pluggy markers."""

from hubstead.plugins import hookimpl, hookspec

__all__ = ["hookimpl", "hookspec"]
