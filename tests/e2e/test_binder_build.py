"""`hubstead build` on an installed hub: Binder-ready repositories become environments.

The repositories are served from this machine (git's smart HTTP on 127.0.0.1, which the
container shares) and the hub's `gh` provider points at that server, so
`hubstead build gh/owner/NAME/main` is what it would be for github.com. The fixtures
are ../shared/data/binder-repos/ plus small repositories made here, one per case.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.harness.conda_channel import HELLO_MESSAGE
from tests.harness.gitserver import BINDER_FIXTURES, GitHTTPServer, copy_tree, make_repo, publish
from tests.harness.hubcli import hubstead, new_user

pytestmark = pytest.mark.e2e

TINY_PACKAGE = "pyfiglet==1.0.2"
POST_BUILD = """#!/bin/bash
set -u
echo "postBuild runs as $(id -un)"
python -c 'import pyfiglet' && echo "postBuild sees its environment: $(command -v python)"
touch /opt/hubstead/envs/default/current/planted 2>/dev/null && echo "WROTE INTO ANOTHER ENVIRONMENT"
touch /etc/planted 2>/dev/null && echo "WROTE INTO /etc"
echo built-by-postBuild > "$VIRTUAL_ENV/postbuild-marker"
"""
START = """#!/bin/bash
export COURSE_STARTED_BY=start-script
exec "$@"
"""
REPOS = {
    "course": {"requirements.txt": TINY_PACKAGE + "\n", "binder/postBuild": POST_BUILD, "binder/start": START,
               "binder/requirements.txt": TINY_PACKAGE + "\n", "index.ipynb": "{}\n"},
    "plain": {"README.md": "no configuration files at all\n", "notes.ipynb": "{}\n"},
    "failing-postbuild": {"requirements.txt": TINY_PACKAGE + "\n",
                          "postBuild": "#!/bin/bash\necho 'about to fail on purpose'\nexit 3\n"},
    "broken-requirements": {"requirements.txt": "hubstead-no-such-package-anywhere==9.9\n"},
    # install.R from Debian works (test_binder_r.py); R code that needs CRAN is refused.
    "r-project": {"install.R": "remotes::install_github('someone/package')\n"},
    "broken-yml": {"environment.yml": "dependencies: [python=3.11\n"},
    "slow": {"requirements.txt": TINY_PACKAGE + "\n", "postBuild": "#!/bin/bash\necho sleeping\nsleep 600\n"},
    "conda-course": {"environment.yml": "channels: [conda-forge]\ndependencies:\n  - python=3.11\n"
                                        "  - hubstead-test-hello\n  - pip:\n    - " + TINY_PACKAGE + "\n",
                     "index.ipynb": "{}\n"},
}


@pytest.fixture(scope="module")
def git_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    work = tmp_path_factory.mktemp("work")
    for name in ("requirements", "apt_install", "conda"):
        copy_tree(BINDER_FIXTURES / name, work / name)
        make_repo(work / name, {})
        publish(work / name, root, f"owner/{name}")
    for name, files in REPOS.items():
        make_repo(work / name, files)
        publish(work / name, root, f"owner/{name}")
    with GitHTTPServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def hub(installed_hub, git_server):
    hubstead(installed_hub, "config", "set", "binder.providers.gh.url", git_server.url)
    before = env_names(installed_hub)
    yield installed_hub
    free_what_this_module_built(installed_hub, before)
    hubstead(installed_hub, "config", "unset", "binder.providers.gh.url")


def free_what_this_module_built(hub, before):
    """The shared container writes to a tmpfs of a quarter of RAM; later modules need room."""
    for name in sorted(env_names(hub) - before):
        hubstead(hub, "env", "remove", name, "--yes")
    hub.container.run("rm -rf /var/cache/hubstead/builder/* /opt/hubstead/envs/.binder/*")


def build(hub, name, *args, check=True):
    return hubstead(hub, "build", f"gh/owner/{name}/main", *args, check=check, timeout=900)


def build_list(hub):
    return json.loads(hubstead(hub, "build", "list", "--json").stdout)


def env_names(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)}


def latest(hub, repo_name):
    return next(item for item in build_list(hub) if item["repo"].endswith(f"/owner/{repo_name}"))


@pytest.fixture(scope="module")
def course(hub):
    done = build(hub, "course")
    return latest(hub, "course"), done


def test_build_prints_a_launch_link_and_makes_an_environment(hub, course):
    record, done = course
    assert record["state"] == "succeeded", record
    assert f"Launch link: {hub.url.replace('127.0.0.1', 'hubstead-test')}" not in done.stderr
    assert "/v2/gh/owner/course/main" in done.stdout.splitlines()[-1]
    assert record["env"] in env_names(hub)
    listed = hubstead(hub, "build", "list").stdout
    assert f"{record['id']}\tsucceeded" in listed


def test_binder_directory_wins_and_postbuild_runs_sandboxed(hub, course):
    record, _ = course
    log = hubstead(hub, "build", "logs", str(record["id"])).stdout
    assert "read binder/requirements.txt: " in log and "read binder/postBuild: " in log
    assert "postBuild runs as hubstead-builder" in log
    assert "postBuild sees its environment: /opt/hubstead/envs/" in log
    assert "WROTE INTO" not in log
    assert not hub.container.path_exists("/etc/planted")
    prefix = f"/opt/hubstead/envs/{record['env']}/{record['build']}"
    assert hub.container.read_file(f"{prefix}/postbuild-marker").strip() == "built-by-postBuild"
    owners = hub.container.run(["find", prefix, "-not", "-user", "root", "-print", "-quit"]).stdout
    assert owners == "", f"files users could change: {owners}"


def test_a_built_commit_is_not_built_again(hub, course):
    record, _ = course
    before = len(build_list(hub))
    again = build(hub, "course")
    assert f"is built already (build {record['id']})" in again.stderr
    assert len(build_list(hub)) == before


def test_server_starts_in_the_build_through_the_start_script(hub, course):
    record, _ = course
    user = new_user(hub, "binderuser")
    user.start_server({"environment": record["env"], "binder": str(record["id"])}, timeout=180)
    printed = user.run_code("import os, sys, pyfiglet; print(sys.prefix, os.environ.get('COURSE_STARTED_BY'))")
    assert printed.split() == [f"/opt/hubstead/envs/{record['env']}/{record['build']}", "start-script"]
    user.stop_server()


def test_named_builds_are_on_the_spawn_page_and_launch_only_ones_are_not(hub, course):
    record, _ = course
    named = hubstead(hub, "build", "gh/owner/course/main", "--name", "course-env")
    assert "into environment course-env" in named.stdout
    user = new_user(hub, "formviewer")
    page = user.http.get(user.url("hub/spawn"), timeout=30, allow_redirects=False)
    assert page.status_code == 200, page.status_code
    assert 'value="course-env"' in page.text
    assert f'value="{record["env"]}"' not in page.text


def test_the_requirements_fixture_builds_with_a_python_fallback_note(hub):
    done = build(hub, "requirements")
    record = latest(hub, "requirements")
    assert record["state"] == "succeeded", done.stdout + done.stderr
    log = hubstead(hub, "build", "logs", str(record["id"])).stdout
    assert "the repository asks for Python 3.10" in log
    assert "building with this machine's Python 3.11 instead of 3.10" in log
    python = f"/opt/hubstead/envs/{record['env']}/{record['build']}/bin/python"
    imported = hub.container.run([python, "-c", "import seaborn, scipy, pandas; print(seaborn.__version__)"])
    assert imported.stdout.startswith("0.13.")


@pytest.fixture(scope="module")
def local_conda_channel(hub):
    """conda-forge is out of reach: a real channel built in the container stands in for
    it, reached the way a site reaches a mirror (envs.channel_alias)."""
    if not hub.container.path_exists("/srv/conda/conda-forge/noarch/repodata.json"):
        hub.container.run(["python3", "/src/tests/harness/conda_channel.py", "/srv/conda/conda-forge",
                           "--python", "/usr/bin/python3", "--indexer", "stdlib"], timeout=600)
    hubstead(hub, "config", "set", "envs.channel_alias", "file:///srv/conda/")
    yield
    hubstead(hub, "config", "unset", "envs.channel_alias")


def test_environment_yml_builds_with_conda_packages_in_the_sandbox(hub, local_conda_channel):
    build(hub, "conda-course")
    record = latest(hub, "conda-course")
    assert record["state"] == "succeeded" and record["kind"] == "conda"
    prefix = f"/opt/hubstead/envs/{record['env']}/{record['build']}"
    assert hub.container.path_exists(f"{prefix}/conda-lock.yml")
    printed = hub.container.run([f"{prefix}/bin/python", "-c", "import hubstead_test_hello, pyfiglet, sys; "
                                 "print(sys.prefix)"]).stdout
    assert printed.strip().splitlines() == [HELLO_MESSAGE, prefix]
    # The builder's package cache shares no file with the environment it built.
    shared = hub.container.run(["find", prefix, "-type", "f", "-links", "+1", "-print", "-quit"]).stdout
    assert shared == ""


def test_the_conda_fixture_fails_clearly_without_conda_forge(hub):
    """The shared conda fixture needs numpy, pandas... from conda-forge, which this
    network cannot reach (nor does the local stand-in channel hold them)."""
    failed = build(hub, "conda", check=False)
    assert failed.returncode == 1
    record = latest(hub, "conda")
    assert record["state"] == "failed" and record["message"].startswith("environment.yml")


def test_apt_txt_installs_debian_packages_and_no_spec_means_the_default_env(hub):
    done = build(hub, "apt_install")
    record = latest(hub, "apt_install")
    assert record["state"] == "succeeded" and record["env"] == "default" and record["build"] is None
    assert "into environment default" in done.stdout
    assert "moo" in hub.container.run(["/usr/games/cowsay", "moo"]).stdout
    plain = build(hub, "plain")
    assert "into environment default" in plain.stdout
    assert "no environment files" in latest(hub, "plain")["message"]


def test_apt_txt_is_refused_when_apt_is_off(hub):
    hubstead(hub, "config", "set", "binder.apt.enabled", "false")
    try:
        refused = hubstead(hub, "build", "gh/owner/apt_install/main", "--ref", "HEAD", check=False)
    finally:
        hubstead(hub, "config", "set", "binder.apt.enabled", "true")
    assert refused.returncode == 1
    assert "binder.apt.enabled is false" in refused.stderr


@pytest.mark.parametrize("spec, says", [
    ("gh/owner/no-such-repo/main", "repository http://127.0.0.1:{port}/owner/no-such-repo not found"),
    ("gh/owner/course/no-such-branch", "no branch, tag or commit 'no-such-branch'"),
    ("http://127.0.0.1:9/owner/x.git", "cannot reach 127.0.0.1:9"),
    ("gh/owner/r-project/main", "install.R line 1: \"remotes::install_github('someone/package')\": only "
                                "install.packages() of packages Debian ships can be built here"),
])
def test_refused_before_building(hub, git_server, spec, says):
    before = len(build_list(hub))
    refused = hubstead(hub, "build", spec, check=False)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and says.format(port=git_server.port) in lines[0], refused.stderr
    assert len(build_list(hub)) == before


@pytest.mark.parametrize("name, says", [
    ("failing-postbuild", "postBuild failed with exit status 3"),
    ("broken-requirements", "requirements.txt cannot be resolved"),
    ("broken-yml", "environment.yml"),
])
def test_failed_builds_keep_their_log_and_leave_nothing(hub, name, says):
    environments = env_names(hub)
    failed = build(hub, name, check=False)
    assert failed.returncode == 1
    record = latest(hub, name)
    assert record["state"] == "failed" and says in record["message"]
    assert f"The log is kept: hubstead build logs {record['id']}" in failed.stderr
    log = hubstead(hub, "build", "logs", str(record["id"])).stdout
    assert f"error: {record['message']}" in log
    assert env_names(hub) == environments
    assert hub.container.run(["ls", "-A", "/var/lib/hubstead-builder/work"]).stdout == ""
    if name == "failing-postbuild":
        assert "about to fail on purpose" in log


def wait_for_state(hub, build_id, states, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = next(item for item in build_list(hub) if item["id"] == build_id)
        if record["state"] in states:
            return record
        time.sleep(1)
    raise AssertionError(f"build {build_id} stayed {record['state']}")


def wait_for_log(hub, build_id, text, timeout=180):
    deadline = time.monotonic() + timeout
    while text not in hubstead(hub, "build", "logs", str(build_id)).stdout:
        assert time.monotonic() < deadline, f"build {build_id} never logged {text!r}"
        time.sleep(1)


def test_cancel_stops_the_build_and_removes_what_it_made(hub):
    environments = env_names(hub)
    hubstead(hub, "build", "gh/owner/slow/main", "--detach")
    record = latest(hub, "slow")
    wait_for_log(hub, record["id"], "sleeping")
    # A second request for the same build shares it instead of starting another.
    shared = hubstead(hub, "build", "gh/owner/slow/main", "--detach", "--json")
    assert json.loads(shared.stdout)["id"] == record["id"]
    cancelled = hubstead(hub, "build", "cancel", str(record["id"]))
    assert f"Cancelled build {record['id']}" in cancelled.stdout
    final = wait_for_state(hub, record["id"], ("cancelled",))
    assert final["message"].startswith("cancelled by")
    units = hub.container.run(["systemctl", "list-units", "--no-legend", f"hubstead-build-{record['id']}*"])
    deadline = time.monotonic() + 30
    while units.stdout.strip() and time.monotonic() < deadline:
        time.sleep(1)
        units = hub.container.run(["systemctl", "list-units", "--no-legend", f"hubstead-build-{record['id']}*"])
    assert units.stdout.strip() == ""
    assert env_names(hub) == environments
    again = hubstead(hub, "build", "cancel", str(record["id"]), check=False)
    assert again.returncode == 1 and "has cancelled already" in again.stderr


def test_a_build_past_its_time_limit_is_stopped(hub):
    environments = env_names(hub)
    hubstead(hub, "config", "set", "binder.build_timeout", "60")
    try:
        failed = hubstead(hub, "build", "gh/owner/slow/main", check=False, timeout=300)
    finally:
        hubstead(hub, "config", "unset", "binder.build_timeout")
    assert failed.returncode == 1
    record = latest(hub, "slow")
    assert record["state"] == "failed"
    assert "longer than binder.build_timeout (60 s)" in record["message"]
    assert env_names(hub) == environments
