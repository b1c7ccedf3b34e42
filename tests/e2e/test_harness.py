"""Smoke test of the container harness itself: if this fails, no e2e result means much."""

from tests.harness.container import REPO_ROOT


def test_container_boots_systemd(fresh_container):
    state = fresh_container.run(["systemctl", "is-system-running"], check=False).stdout.strip()
    assert state in ("running", "degraded"), state
    assert fresh_container.run(["cat", "/proc/1/comm"]).stdout.strip() == "systemd"


def test_src_is_the_checkout_and_read_only(fresh_container):
    # A file that exists in the checkout must be visible, byte for byte, at /src.
    here = "tests/e2e/test_harness.py"
    assert fresh_container.read_file(f"/src/{here}") == (REPO_ROOT / here).read_text()
    result = fresh_container.run(["touch", "/src/should-not-exist"], check=False)
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr
    assert not (REPO_ROOT / "should-not-exist").exists()


def test_transient_units_work(fresh_container):
    # SystemdSpawner starts every user server as a transient unit like this one.
    fresh_container.run(["systemd-run", "--wait", "--quiet", "/bin/true"], timeout=60)


def test_apt_reaches_the_mirror_and_installs(fresh_container):
    # Through the TLS-intercepting proxy, with apt's own _apt sandbox user.
    fresh_container.run(["apt-get", "update"], timeout=300)
    fresh_container.run(["apt-get", "install", "-y", "hello"], timeout=300,
                        env={"DEBIAN_FRONTEND": "noninteractive"})
    assert "Hello, world!" in fresh_container.run(["hello"]).stdout


def test_writes_stay_out_of_the_base_rootfs(fresh_container, base_rootfs):
    # Writes land on the container's own tmpfs overlay, never in the shared base.
    fresh_container.write_file("/etc/hubstead-harness-marker", "x\n")
    assert fresh_container.path_exists("/etc/hubstead-harness-marker")
    assert not (base_rootfs / "etc/hubstead-harness-marker").exists()
