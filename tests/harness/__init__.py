"""Test harness for Hubstead: fresh-VM-like systemd containers (see container.py).

Shared by the pytest fixtures and the benchmark scripts, so nothing here imports pytest.
"""
