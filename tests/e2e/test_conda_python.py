"""The test channel's `python` package inside a fresh Debian container.

The channel is built there by a plain `python3` (tests/harness/conda_channel.py is
stdlib-only, with its stdlib indexer), from the container's own Debian interpreter;
the environment is solved and installed by hubstead.envs.conda with the test venv's
py-rattler (an abi3 wheel, so the host's venv serves the container's python3), and the
installed python must run from its prefix with nothing but the container's system
libraries.
"""

import sys
from pathlib import Path

from tests.harness.conda_channel import HELLO_MESSAGE
from tests.harness.container import REPO_ROOT

INSTALL = """
import sys, time
from hubstead.envs import conda
from hubstead.envs.condaspec import parse_environment_yml
spec = parse_environment_yml("channels: [file:///tmp/channel]\\ndependencies: [hubstead-test-hello]\\n")
started = time.monotonic()
records = conda.solve(spec, virtual_packages=None, cache_dir="/tmp/repodata")
conda.install(records, "/tmp/env", cache_dir="/var/cache/hubstead/pkgs")
print(" ".join(sorted(f"{r.name.normalized}={r.version}" for r in records)))
print(f"{time.monotonic() - started:.2f}")
conda.leave_process(0)  # as the hubstead command does: rattler can crash Python's shutdown
"""


def test_python_package_built_and_installed_in_a_fresh_debian(fresh_container):
    box = fresh_container
    site_packages = Path(sys.prefix).resolve() / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    venv_inside = "/src/" + site_packages.relative_to(REPO_ROOT).as_posix()

    built = box.run(["python3", "/src/tests/harness/conda_channel.py", "/tmp/channel",
                     "--python", "/usr/bin/python3", "--indexer", "stdlib"], timeout=300)
    assert "indexed with stdlib" in built.stdout, built.stdout + built.stderr
    version = box.run(["python3", "-c", "import platform; print(platform.python_version())"]).stdout.strip()
    assert f"built python {version} (linux-64" in built.stdout

    installed = box.run(["python3", "-c", INSTALL], timeout=300,
                        env={"PYTHONPATH": f"/src/installer:{venv_inside}"})
    packages, seconds = installed.stdout.split("\n")[:2]
    assert packages.split() == ["hubstead-test-hello=1.0", f"python={version}"]
    print(f"[conda e2e] solve + install in the container: {seconds} s", file=sys.stderr)

    # Nothing from the host or the test venv: a clean environment, the prefix's python.
    result = box.run(["/tmp/env/bin/python", "-c",
                      "import sys, ssl, sqlite3, ctypes, hubstead_test_hello; print(sys.prefix)"],
                     env={"PYTHONPATH": None})
    assert result.stdout.splitlines() == [HELLO_MESSAGE, "/tmp/env"]
    assert box.run(["/tmp/env/bin/hubstead-test-hello"]).stdout.splitlines()[-1] == \
        "hubstead-test-hello main, prefix /tmp/env"
    # A venv made from it works too (what uv does for the pip part).
    box.run(["/tmp/env/bin/python", "-m", "venv", "--without-pip", "/tmp/venv"])
    assert box.run(["/tmp/venv/bin/python", "-c", "import sys; print(sys.base_prefix)"]).stdout.strip() == "/tmp/env"
