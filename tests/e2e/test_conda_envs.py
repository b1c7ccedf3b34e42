"""Conda environments on an installed hub, against a local channel the test builds.

conda-forge cannot be reached here, so the test builds a real channel inside the
container (tests/harness/conda_channel.py: genuine .tar.bz2 packages, a `python`
package made from the container's own Debian CPython) and points the hub at it the
way a site points it at a mirror: `envs.channel_alias`, so the spec's `conda-forge`
resolves to file:///srv/conda/conda-forge.
"""

import json

import pytest

from tests.harness.conda_channel import HELLO_MESSAGE
from tests.harness.hubcli import current_build, hubstead, new_user

pytestmark = pytest.mark.e2e

SPEC = """\
name: course
channels:
  - conda-forge
dependencies:
  - python=3.11
  - hubstead-test-hello
  - hubstead-test-beta
  - pip:
    - pyfiglet
"""



@pytest.fixture(scope="module")
def conda_env(installed_hub):
    hub = installed_hub
    hub.container.run(["python3", "/src/tests/harness/conda_channel.py", "/srv/conda/conda-forge",
                       "--python", "/usr/bin/python3", "--indexer", "stdlib"], timeout=600)
    hubstead(hub, "config", "set", "envs.channel_alias", "file:///srv/conda/")
    hub.container.write_file("/root/environment.yml", SPEC)
    try:
        created = hubstead(hub, "env", "create", "course", "--file", "/root/environment.yml",
                           "--description", "conda course environment")
        assert "Created course" in created.stdout
        yield "course"
    finally:
        hubstead(hub, "config", "unset", "envs.channel_alias")


@pytest.fixture(scope="module")
def student(installed_hub):
    return new_user(installed_hub, "condauser")


def test_conda_environment_holds_conda_and_pip_packages(installed_hub, conda_env):
    shown = json.loads(hubstead(installed_hub, "env", "show", "course", "--json").stdout)
    packages = {item["name"].lower(): item for item in shown["packages"]}
    assert packages["hubstead-test-hello"]["source"] == "conda"
    assert packages["python"]["source"] == "conda"
    assert packages["hubstead-test-alpha"]["version"] == "1.0", "beta needs alpha <2"
    assert packages["pyfiglet"]["source"] == "pypi"
    assert packages["jupyterhub"]["version"] == "5.5.4"
    assert shown["builds"][0]["kind"] == "conda" and shown["current"].startswith("conda-")


def test_user_runs_code_in_the_conda_environment(installed_hub, conda_env, student):
    student.start_server({"environment": "course"}, timeout=180)
    printed = student.run_code("import sys, hubstead_test_hello, pyfiglet; print(sys.prefix)")
    assert HELLO_MESSAGE in printed
    assert "/opt/hubstead/envs/course/conda-" in printed
    student.stop_server()


def test_export_is_a_conda_lock_that_reinstalls_the_same_packages(installed_hub, conda_env):
    hub = installed_hub
    exported = hubstead(hub, "env", "export", "course").stdout
    hub.container.write_file("/root/course-lock.yml", exported)
    check = """
import json
from conda_lock.lockfile import parse_conda_lock_file
from pathlib import Path
from hubstead.envs import conda
lock = parse_conda_lock_file(Path("/root/course-lock.yml"))
records = conda.install("/root/course-lock.yml", "/root/conda-replica")
print(json.dumps(sorted(f"{p.name}={p.version}" for p in lock.package)))
conda.leave_process(0)  # as the hubstead command does: rattler can crash Python's shutdown
"""
    result = hub.container.run(["/opt/hubstead/hub/bin/python", "-c", check], timeout=600)
    locked = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "hubstead-test-hello=1.0" in locked and any(item.startswith("python=3.11") for item in locked)
    replica = set(hub.container.run("ls /root/conda-replica/conda-meta | sed 's/\\.json$//'").stdout.split())
    original = set(hub.container.run("ls /opt/hubstead/envs/course/current/conda-meta | sed 's/\\.json$//'"
                                     ).stdout.split())
    assert replica - {"history"} == original - {"history"}


@pytest.mark.parametrize("spec, phrase", [
    ("dependencies:\n  - python=3.11\n  - [broken\n", "line"),
    ("dependencies:\n  - python=3.11\n  - no-such-package-xyz\n", "no-such-package-xyz"),
    ("dependencies:\n  - python=3.11\n  - hubstead-test-beta\n  - hubstead-test-alpha>=2\n", "hubstead-test-alpha"),
    ("channels: [file:///srv/conda/missing-channel]\ndependencies:\n  - python=3.11\n", "missing-channel"),
])
def test_broken_specs_fail_clearly_and_the_old_build_keeps_serving(installed_hub, conda_env, spec, phrase):
    hub = installed_hub
    before = current_build(hub, "course")
    hub.container.write_file("/root/broken.yml", spec)
    result = hubstead(hub, "env", "update", "course", "--file", "/root/broken.yml", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and phrase in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert current_build(hub, "course") == before
    listing = hub.container.run("ls -a /opt/hubstead/envs/course").stdout.split()
    assert not [entry for entry in listing if entry.startswith(".staging")]


def test_same_spec_again_reuses_the_build(installed_hub, conda_env):
    hub = installed_hub
    before = current_build(hub, "course")
    again = hubstead(hub, "env", "update", "course", "--file", "/root/environment.yml")
    assert "exists already" in again.stdout + again.stderr
    assert current_build(hub, "course") == before
