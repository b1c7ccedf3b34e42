"""What a repository's postBuild leaves behind reaches learners, as in repo2docker's image.

In repo2docker, postBuild runs in the image with HOME=/home/jovyan, so what it writes
there (a dotfile, a settings folder, a `pip install --user`) is in every container's
home; `npm install -g` lands in the image, on PATH; REPO_DIR names the repository's
directory and ~/.local/bin and $REPO_DIR/.local/bin are on PATH. Here the build keeps
postBuild's home with the environment, and each launch copies it into the learner's own
home without replacing the learner's files (tests below), the rest checked in a real
JupyterLab terminal of the learner's server.

Repositories are served by git's smart HTTP on 127.0.0.1 (the container shares it);
`npm install -g` reaches the real npm registry through the build's egress proxy.
"""

from __future__ import annotations

import pytest

from tests.harness.hubcli import hubstead, new_user, serving_repositories
from tests.harness.launchclient import LaunchSession
from tests.harness.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

# No environment file: repo2docker builds it in its default environment.
POST_BUILD = """#!/bin/bash
set -euo pipefail
echo "from postBuild" > "$HOME/postbuild.txt"
mkdir -p "$HOME/.config/course"
echo '{"theme": "dark"}' > "$HOME/.config/course/settings.json"
echo "REPO_DIR in postBuild: $REPO_DIR"
test "$(pwd)" = "$REPO_DIR"
npm install --global --no-audit --no-fund json@11.0.0
"""
START = """#!/bin/bash
export COURSE_MODE=workshop
exec "$@"
"""
FILES = {"postBuild": POST_BUILD, "start": START, "README.md": "only postBuild and start\n"}
LINK = "v2/gh/owner/home-course/main"


@pytest.fixture(scope="module")
def hub(installed_hub, tmp_path_factory):
    with serving_repositories(installed_hub, tmp_path_factory, {"home-course": FILES}, users=["hana"]):
        yield installed_hub


@pytest.fixture(scope="module")
def learner(hub):
    user = new_user(hub, "hana")
    hubstead(hub, "group", "add-user", "instructors", "hana")  # may build the new link
    session = LaunchSession(user)
    launched = session.launch(session.open(LINK))
    session.pull(launched.redirect)
    return session, launched


def terminal(session, command):
    status, shown = run_in_terminal(session.user, command, timeout=60)
    assert status == 0, f"{command!r} failed in the learner's terminal:\n{shown}"
    return shown


def test_a_postbuild_without_an_environment_file_runs_and_its_log_says_what_was_read(learner):
    _, launched = learner
    log = launched.log
    assert "read postBuild: run once after the environment is built" in log, log[-2000:]
    assert "read start: servers launched from this build start through it" in log
    assert "REPO_DIR in postBuild: /var/lib/hubstead-builder/work/" in log
    assert launched.build["env"].startswith("binder-"), "an environment of its own, not the default one"


def test_what_postbuild_wrote_to_home_is_in_the_learners_home(learner):
    session, _ = learner
    shown = terminal(session, "cat ~/postbuild.txt ~/.config/course/settings.json")
    assert "from postBuild" in shown and '"theme": "dark"' in shown


def test_repo_dir_path_npm_pip_and_start_are_as_in_repo2docker(learner):
    session, _ = learner
    shown = terminal(session, 'echo "dir=$REPO_DIR mode=$COURSE_MODE path=$PATH"; json --version; '
                              'python -m pip --version')
    home = terminal(session, "echo HOME=$HOME").split("HOME=")[-1].split()[0]
    assert f"dir={home}/home-course " in shown, shown
    assert "mode=workshop" in shown, "the start script ran"
    assert f"path={home}/.local/bin:{home}/home-course/.local/bin:/opt/hubstead/envs/" in shown, \
        "the terminal (a login shell) keeps the server's PATH"
    assert "json 11.0.0" in shown, "npm install -g from postBuild is on PATH"
    assert "pip " in shown and "/opt/hubstead/envs/" in shown


def test_a_relaunch_never_replaces_the_learners_own_files(learner):
    session, _ = learner
    terminal(session, "echo 'my own notes' > ~/postbuild.txt && rm ~/.config/course/settings.json")
    session.user.stop_server()
    again = session.launch(session.open(LINK))
    session.pull(again.redirect)
    shown = terminal(session, "cat ~/postbuild.txt; cat ~/.config/course/settings.json")
    assert "my own notes" in shown and "from postBuild" not in shown, "the learner's edit is kept"
    assert '"theme": "dark"' in shown, "a file the learner removed comes back, as a new file would"
