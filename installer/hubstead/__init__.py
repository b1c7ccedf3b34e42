"""Hubstead: JupyterHub for a workshop, class or lab on one machine."""

__version__ = "0.1.0"
