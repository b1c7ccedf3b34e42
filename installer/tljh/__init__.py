"""What TLJH plugins import from TLJH, so they run on Hubstead unchanged (only tljh.hooks)."""
