"""What JupyterHub itself loads: the rendered jupyterhub_config.py calls
hubconfig.configure, which sets HubsteadSpawner (spawner.py, with serverunit.py's
hardening and unitteardown.py's stop) and the authenticator (authenticator.py for
NativeAuthenticator, authenticators.py for the institution's logins).

These modules run inside the hub's process; the admin code beside this package (cli/,
users/, envs/, builder/) runs in the `hubstead` command and the web service.
"""
