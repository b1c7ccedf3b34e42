"""hubstead.hubbound: a hub-managed service ends when the hub that started it dies."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from traitlets.config import Config

from hubstead import config

from hubstead.hub import hubconfig


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead to everyone but its parent.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_every_hub_service_is_bound_to_the_hub(tmp_path, monkeypatch):
    from hubstead import paths

    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    (tmp_path / "hubstead-api-token").write_text("secret-token\n")
    c = Config()
    hubconfig.configure_services(c, config.effective({}))
    names = [service["name"] for service in c.JupyterHub.services]
    assert names == ["hubstead", "cull-idle"]
    for service in c.JupyterHub.services:
        assert service["command"][:4] == [sys.executable, "-m", "hubstead.hubbound", str(os.getpid())]


def test_the_service_gets_sigterm_when_the_hub_is_killed(tmp_path):
    """A stand-in hub starts a bound service the way JupyterHub does (Popen, own session),
    then is killed with SIGKILL: the service must not outlive it."""
    pid_file = tmp_path / "service.pid"
    hub_code = textwrap.dedent(f"""
        import os, subprocess, sys, time
        from hubstead import hubbound
        command = hubbound.bound_command([sys.executable, "-c",
            "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"])
        subprocess.Popen(command, start_new_session=True)
        time.sleep(120)
    """)
    hub = subprocess.Popen([sys.executable, "-c", hub_code], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        service = int(pid_file.read_text())
        assert alive(service)
        hub.send_signal(signal.SIGKILL)
        hub.wait()
        deadline = time.monotonic() + 10
        while alive(service) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(service), "the service outlived the killed hub"
    finally:
        hub.kill()
        hub.wait()


def test_a_service_whose_hub_is_already_gone_does_not_start():
    not_my_parent = "1" if os.getppid() != 1 else "2"
    result = subprocess.run([sys.executable, "-m", "hubstead.hubbound", not_my_parent, "true"],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert result.returncode == 1
    assert f"the hub (pid {not_my_parent}) is gone; not starting true" in result.stderr
