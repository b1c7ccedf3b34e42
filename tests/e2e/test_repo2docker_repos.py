"""repo2docker's own test repositories, built with `hubstead build` and verified as a learner.

Each directory of tests/fixtures/repo2docker/ is one of jupyterhub/repo2docker's test
repositories (tests/<category>/<name>/, commit 808ae6bb; their configuration files,
with a `verify` written here that keeps every assertion of theirs, adaptations listed
in docs/binder.md), plus `-local-channel` variants of conda ones whose packages the
local test channel has. Each is served over git's HTTP on 127.0.0.1 as
gh/owner/<category>-<name>, built by root with `hubstead build`, then opened by a new
learner through its launch link; its `verify` runs in a JupyterLab terminal of the
learner's server from the content directory (~/<category>-<name>), as a learner would.
Repositories that need conda-forge, CRAN, Julia's registry, Nix or Docker are checked
for the build's clear one-line refusal instead, with nothing left built.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.harness.gitserver import GitHTTPServer, copy_tree, make_repo, publish
from tests.harness.hubcli import hubstead, new_user
from tests.harness.launchclient import LaunchSession
from tests.harness.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repo2docker"
VERIFIES = "verifies"
LOCAL_CHANNEL = "local channel"


def refused(*needles, settings=()):
    """The build ends with exit status 1 and a one-line error naming all needles
    (with the hub's config keys of settings set for it, restored afterwards)."""
    return ("refused", needles, dict(settings))


# Hubstead's default (binder.python_fallback on) builds with the machine's Python when a
# runtime's Python cannot be had, and says so; repo2docker would build that Python.
# Off, the build is refused naming what this machine has: what these cases check.
NO_FALLBACK = {"binder.python_fallback": "false"}


# repo2docker's directory name -> what a learner sees here.
CASES = {
    "venv/apt-packages": VERIFIES,
    "venv/binder-dir": VERIFIES,
    "venv/default": VERIFIES,
    "venv/numpy": VERIFIES,
    "venv/postBuild": VERIFIES,
    "venv/py2": refused("runtime.txt", "Python 2"),
    "venv/py2-with-kernel-requirements": refused("runtime.txt", "Python 2"),
    "venv/py3": VERIFIES,
    "venv/py35": refused("Python 3.5", "neither this machine", settings=NO_FALLBACK),
    "venv/start/postBuild": VERIFIES,
    "venv/start/start-script": VERIFIES,
    "venv/usr-bin": VERIFIES,
    "pipfile/binder-folder": VERIFIES,
    "pipfile/binder-folder-lock": VERIFIES,
    "pipfile/environment-yml": refused("environment.yml", "conda-forge"),
    "pipfile/environment-yml-local-channel": LOCAL_CHANNEL,
    "pipfile/pipfile-lock": VERIFIES,
    "pipfile/py2-with-server-and-kernel-req": refused("Pipfile", "Python 2"),
    "pipfile/py36": refused("Python 3.6", "neither this machine", settings=NO_FALLBACK),
    "pipfile/requirements-txt": VERIFIES,
    "pipfile/setup-py-explicit": VERIFIES,
    "pipfile/setup-py-explicit-in-binder-dir": VERIFIES,
    "pipfile/setup-py-implicit": VERIFIES,
    "pyproject/pyproject-toml": VERIFIES,
    "conda/downgrade": refused("environment.yml", "conda-forge"),
    "conda/py-r-postbuild-file": refused("environment.yml", "conda-forge"),
    "conda/py2": refused("environment.yml", "conda-forge"),
    "conda/py310-requirements-file": refused("environment.yml", "conda-forge"),
    "conda/py310-requirements-file-local-channel": LOCAL_CHANNEL,
    "conda/py312": refused("environment.yml", "conda-forge"),
    "conda/py312-local-channel": LOCAL_CHANNEL,
    "conda/py35-binder-dir": refused("environment.yml", "conda-forge"),
    "conda/py35-binder-dir-local-channel": LOCAL_CHANNEL,
    "conda/py36-postBuild": refused("environment.yml", "conda-forge"),
    "conda/r3.6-target-repo-dir-flag": refused("environment.yml", "conda-forge"),
    "conda/yaml": refused("environment.yaml", "conda-forge"),
    "conda/yaml-local-channel": LOCAL_CHANNEL,
    "r/r-rspm-apt-file": VERIFIES,
    "r/r-rspm-description-file": refused("DESCRIPTION", "R package"),
    "r/r3.6-rspm": refused("runtime.txt", "R 3.6"),
    "r/r4.3.2-rspm": refused("runtime.txt", "R 4.3"),
    "r/r4.5-rspm": refused("runtime.txt", "R 4.5"),
    "r/r4.6-rspm": refused("runtime.txt", "R 4.6"),
    "base/general": VERIFIES,
    "julia/project": refused("Project.toml", "Julia"),
    "julia/project-binder-dir": refused(".binder/Project.toml", "Julia"),
    "nix/binder-dir": refused("binder/default.nix", "Nix"),
    "nix/ignore-outside": refused("binder/default.nix", "Nix"),
    "nix/simple": refused("default.nix", "Nix"),
    "nix/start": refused("default.nix", "Nix"),
    "nix/test-building": refused("default.nix", "Nix"),
    "dockerfile/binder-dir": refused("binder/Dockerfile"),
    "dockerfile/jupyter-stack": refused("Dockerfile"),
    "dockerfile/simple": refused("Dockerfile"),
}


def repo_name(case):
    return case.replace("/", "-")


def test_every_fixture_is_a_case():
    """Every ported repository (a directory with a verify) is run by this module."""
    found = {path.parent.relative_to(FIXTURES).as_posix() for path in FIXTURES.rglob("verify")}
    assert found == set(CASES)


@pytest.fixture(scope="module")
def git_server(tmp_path_factory):
    root, work = tmp_path_factory.mktemp("served"), tmp_path_factory.mktemp("work")
    for case in CASES:
        copy_tree(FIXTURES / case, work / repo_name(case))
        make_repo(work / repo_name(case), {})
        publish(work / repo_name(case), root, f"owner/{repo_name(case)}")
    with GitHTTPServer(root) as server:
        yield server


@pytest.fixture(scope="module")
def hub(installed_hub, git_server):
    hubstead(installed_hub, "config", "set", "binder.providers.gh.url", git_server.url)
    yield installed_hub
    hubstead(installed_hub, "config", "unset", "binder.providers.gh.url")
    installed_hub.container.run("rm -rf /var/cache/hubstead/builder/* /opt/hubstead/envs/.binder/*")


def build_records(hub):
    return json.loads(hubstead(hub, "build", "list", "--json", "--limit", "200").stdout)


def env_names(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)}


# Builds that verify run BUILD_AHEAD at a time ahead of the test that needs them (the
# next ones in CASES' order, `hubstead build --detach`), so downloads and installs of the
# next repositories overlap this one's launch and verify; the test's own `hubstead build`
# then follows the shared build to its end. Local-channel cases change envs.channel_alias
# and are built only by their own test.
BUILD_AHEAD = 2


def builds_ahead_of(case):
    later = list(CASES)[list(CASES).index(case) + 1:]
    return [other for other in later if CASES[other] == VERIFIES][:BUILD_AHEAD]


@pytest.fixture(scope="module")
def module_envs(hub):
    """The environments there were before this module, which its tests never remove;
    whatever else is left at the end (a build made ahead for a test that did not run) goes."""
    before = env_names(hub)
    yield before
    for name in sorted(env_names(hub) - before):
        hubstead(hub, "env", "remove", name, "--yes", check=False)


@pytest.fixture
def built_here(hub, module_envs, case):
    """Removes the environment this test's repository was built into (the shared
    container's disk is small), leaving builds made ahead for later tests."""
    yield
    for record in build_records(hub):
        if record["repo"].endswith(f"/owner/{repo_name(case)}") and record["env"] not in module_envs:
            hubstead(hub, "env", "remove", record["env"], "--yes", check=False)


@pytest.fixture
def learner(hub, request):
    """A learner of one test: a fresh home, so no file of another repository's build
    (postBuild's ~/postbuild.txt) can make a verify pass."""
    name = "r2d" + str(list(CASES).index(request.node.callspec.params["case"]))
    user = new_user(hub, name)
    yield user
    user.stop_server()
    hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)


@pytest.fixture
def local_channel(hub):
    """The local test channel stands in for conda-forge (envs.channel_alias), as in
    tests/e2e/test_binder_build.py; restored afterwards."""
    if not hub.container.path_exists("/srv/conda/conda-forge/noarch/repodata.json"):
        hub.container.run(["python3", "/src/tests/harness/conda_channel.py", "/srv/conda/conda-forge",
                           "--python", "/usr/bin/python3", "--indexer", "stdlib"], timeout=600)
    hubstead(hub, "config", "set", "envs.channel_alias", "file:///srv/conda/")
    yield
    hubstead(hub, "config", "unset", "envs.channel_alias")


@pytest.mark.parametrize("case", list(CASES))
def test_repository(hub, case, built_here, request):
    """Ports repo2docker's tests/conftest.py LocalRepo for tests/<case>/: build the
    repository, then run its ./verify in the built environment (here: as a learner,
    in a terminal of the server the launch link starts)."""
    expected = CASES[case]
    if expected == LOCAL_CHANNEL:
        request.getfixturevalue("local_channel")
    name = repo_name(case)
    before = env_names(hub)
    settings = expected[2] if isinstance(expected, tuple) else {}
    for key, value in settings.items():
        hubstead(hub, "config", "set", key, value)
    if expected == VERIFIES:
        for other in builds_ahead_of(case):
            hubstead(hub, "build", f"gh/owner/{repo_name(other)}/main", "--detach", check=False)
    started = time.monotonic()
    try:
        done = hubstead(hub, "build", f"gh/owner/{name}/main", check=False, timeout=900)
    finally:
        for key in settings:
            hubstead(hub, "config", "unset", key)
    built_in = time.monotonic() - started
    if isinstance(expected, tuple):
        _, needles, _ = expected
        assert done.returncode == 1, f"expected a refusal naming {needles}, got:\n{done.stdout}\n{done.stderr}"
        # Notes on what was read and ignored may come first; the error is one line.
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and all(needle in errors[0] for needle in needles), done.stderr
        # Builds made ahead for later tests may finish meanwhile; none of this repository's.
        others = {record["env"] for record in build_records(hub)
                  if not record["repo"].endswith(f"/owner/{name}")}
        assert env_names(hub) - before <= others, "a refused build leaves nothing"
        return
    assert done.returncode == 0, f"build failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    print(f"{case}: built in {built_in:.0f} s")
    user = request.getfixturevalue("learner")
    session = LaunchSession(user)
    launched = session.launch(session.open(f"v2/gh/owner/{name}/main"))
    session.pull(launched.redirect)
    status, shown = run_in_terminal(user, f"cd ~/{name} && ./verify", timeout=300)
    assert status == 0, f"{case}: verify exited {status}:\n{shown[:1500]}\n...\n{shown[-2500:]}"
