"""`hubstead build REPO --name NAME` of a repository without configuration files
succeeds and prints its launch link, as it does without --name (issue 17, item 16)."""

import json

import pytest

from tests.harness.gitserver import GitHTTPServer, make_repo, publish
from tests.harness.hubcli import hubstead

pytestmark = pytest.mark.e2e

PROVIDER = "binder.providers.gh.url"


@pytest.fixture
def plain_repo(installed_hub, tmp_path):
    root, work = tmp_path / "served", tmp_path / "work"
    make_repo(work / "plain-course", {"README.md": "no configuration files\n", "notes.ipynb": "{}\n"})
    publish(work / "plain-course", root, "owner/plain-course")
    before = json.loads(hubstead(installed_hub, "config", "get", PROVIDER, "--json").stdout)
    with GitHTTPServer(root) as server:
        hubstead(installed_hub, "config", "set", PROVIDER, server.url)
        try:
            yield installed_hub
        finally:
            hubstead(installed_hub, "config", "set", PROVIDER, before)


def env_names(hub):
    return {item["name"] for item in json.loads(hubstead(hub, "env", "list", "--json").stdout)}


def test_a_named_build_of_a_repository_without_files_succeeds_with_its_link(plain_repo):
    hub = plain_repo
    before = env_names(hub)
    done = hubstead(hub, "build", "gh/owner/plain-course/main", "--name", "plain-named", check=False)
    assert done.returncode == 0, done.stderr
    assert "error:" not in done.stderr
    assert "runs in the default environment 'default', so no environment 'plain-named' was made" in done.stderr
    assert "into environment default" in done.stdout
    last = done.stdout.splitlines()[-1]
    assert last.startswith("Launch link: ") and last.endswith("/v2/gh/owner/plain-course/main")
    assert env_names(hub) == before, "nothing to build: no environment made"
