"""Carry a hub over to other engines: z2jh.py writes a Zero to JupyterHub values file,
images.py one container build context per environment (docs/z2jh.md)."""

from ..errors import HubsteadError


class ExportError(HubsteadError):
    """An expected failure of an export; the message says what to do."""
