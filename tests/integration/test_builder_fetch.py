"""Fetching repositories for the builder, against git's smart HTTP served on 127.0.0.1.

tests/harness/gitserver.py runs `git http-backend` behind a small HTTP server; the
repositories are made here (commits, branches, annotated and lightweight tags, a pull
request ref) plus copies of the three Binder example repositories. Nothing leaves this
machine.
"""

from __future__ import annotations

import socket
import stat
import threading

import pytest

from hubstead.builder import BuilderError, fetch
from hubstead.builder.links import default_settings, parse_launch
from hubstead.builder.repofiles import read_repo
from tests.conftest import require
from tests.harness.gitserver import BINDER_FIXTURES, GitHTTPServer, commit_files, copy_tree, git, make_repo, publish
from tests.harness.host import free_tcp_ports


@pytest.fixture
def served(tmp_path):
    """The server root, and the server on a free port (stopped after the test)."""
    root = tmp_path / "served"
    root.mkdir()
    server = GitHTTPServer(root).start()
    yield server
    server.stop()


@pytest.fixture
def course(tmp_path, served):
    """owner/course: main (two commits, the second adds an executable binder/postBuild and a
    symlink), annotated tag v1 and lightweight tag light on the first, branch feature/x,
    and a commit reachable only from refs/pull/1/head."""
    work = tmp_path / "work" / "course"
    commits = {"first": make_repo(work, {"requirements.txt": "numpy\n", "index.ipynb": "{}\n"})}
    git(work, "tag", "--annotate", "v1", "--message", "release 1")
    git(work, "tag", "light")
    commits["second"] = commit_files(work, {"binder/requirements.txt": "pandas\n", "binder/postBuild*": "#!/bin/sh\n",
                                            "data": "x\n"}, "binder directory")
    (work / "link").symlink_to("data")
    commits["second"] = commit_files(work, {}, "symlink")
    git(work, "checkout", "--quiet", "-b", "feature/x", commits["first"])
    commits["feature"] = commit_files(work, {"feature.txt": "feature\n"}, "feature")
    git(work, "checkout", "--quiet", "-b", "pr", commits["first"])
    commits["pull"] = commit_files(work, {"pull.txt": "pull request\n"}, "pull request")
    git(work, "checkout", "--quiet", "main")
    bare = publish(work, served.root, "owner/course")
    git(work, "push", "--quiet", str(bare), "pr:refs/pull/1/head")
    git(bare, "branch", "--delete", "--force", "pr")  # the PR commit is now on no branch or tag
    return {"work": work, "url": served.repo_url("owner/course"), **commits}


def one_line_error(call, *args, **kwargs):
    with pytest.raises(BuilderError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert message and "\n" not in message, f"not one line: {message!r}"
    return message


def test_ls_remote_resolves_branches_tags_and_commits_without_transferring_objects(course, served, tmp_path):
    url, cache = course["url"], tmp_path / "cache"
    for ref in ("main", "HEAD", None, "refs/heads/main"):
        assert fetch.resolve_ref(url, ref, cache_dir=cache) == course["second"], ref
    assert fetch.resolve_ref(url, "v1") == course["first"], "an annotated tag gives its commit"
    assert fetch.resolve_ref(url, "light") == course["first"]
    assert fetch.resolve_ref(url, "feature/x") == course["feature"]
    assert fetch.resolve_ref(url, "refs/pull/1/head") == course["pull"]
    assert fetch.resolve_ref(url, course["first"]) == course["first"]
    git(course["work"], "branch", "v1", course["feature"])  # a branch named like the tag
    publish(course["work"], served.root, "owner/course")
    assert fetch.resolve_ref(url, "v1") == course["first"], "the tag wins, as in git rev-parse"
    assert served.fetches() == 0 and not cache.exists()


def test_a_proxy_in_the_environment_is_not_asked_for_loopback_addresses(course, monkeypatch):
    (closed,) = free_tcp_ports(1)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed}")  # a proxy that is down
    monkeypatch.setenv("no_proxy", "example.org")
    assert fetch.git_environment()["no_proxy"] == "example.org,localhost,127.0.0.1,::1"
    assert fetch.resolve_ref(course["url"], "main") == course["second"]
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("NO_PROXY", "intranet.example")  # curl would read only the lower-case one
    assert fetch.git_environment()["no_proxy"] == "intranet.example,localhost,127.0.0.1,::1"
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    assert fetch.git_environment()["no_proxy"] == "", "no proxy: nothing to add"


def test_fetch_by_branch_tag_and_commit_checks_out_like_a_clone_without_git(course, served, tmp_path):
    url, cache = course["url"], tmp_path / "cache"
    main = fetch.fetch(url, "main", tmp_path / "main", cache_dir=cache)
    assert (main.commit, main.fetched) == (course["second"], True)
    assert sorted(path.name for path in main.directory.iterdir()) == ["binder", "data", "index.ipynb", "link",
                                                                      "requirements.txt"]
    assert main.directory.stat().st_mode & 0o777 == 0o755
    assert (main.directory / "binder" / "postBuild").stat().st_mode & stat.S_IXUSR, "modes as committed"
    assert (main.directory / "link").is_symlink() and (main.directory / "link").read_text() == "x\n"
    assert read_repo(main.directory).kind == "pypi" and read_repo(main.directory).config_dir == "binder"
    tag = fetch.fetch(url, "v1", tmp_path / "tag", cache_dir=cache)
    assert tag.commit == course["first"] and not (tag.directory / "binder").exists()
    branch = fetch.fetch(url, "feature/x", tmp_path / "branch", cache_dir=cache)
    assert (branch.directory / "feature.txt").read_text() == "feature\n"
    by_id = fetch.fetch(url, course["first"], tmp_path / "by-id", cache_dir=cache)
    short = fetch.fetch(url, course["feature"][:9], tmp_path / "short", cache_dir=cache)
    assert (by_id.commit, by_id.fetched, short.commit) == (course["first"], False, course["feature"])
    assert served.fetches() == 1, "one transfer filled the mirror; every other checkout came from it"
    assert "exists already" in one_line_error(fetch.fetch, url, "main", tmp_path / "main", cache_dir=cache)


def test_a_commit_on_no_branch_or_tag_is_fetched_by_id_and_then_cached(course, served, tmp_path):
    url, cache = course["url"], tmp_path / "cache"
    pull = fetch.fetch(url, "refs/pull/1/head", tmp_path / "pull", cache_dir=cache)
    assert pull.commit == course["pull"] and (pull.directory / "pull.txt").exists()
    assert fetch.has_commit(url, course["pull"], cache_dir=cache)
    served.stop()
    again = fetch.fetch(url, course["pull"], tmp_path / "again", cache_dir=cache)
    assert (again.commit, again.fetched) == (course["pull"], False)


def test_a_second_fetch_uses_the_cache_and_a_cached_commit_needs_no_server(course, served, tmp_path):
    url, cache = course["url"], tmp_path / "cache"
    first = fetch.fetch(url, "main", tmp_path / "first", cache_dir=cache)
    second = fetch.fetch(url, "main", tmp_path / "second", cache_dir=cache)
    assert (first.fetched, second.fetched, served.fetches()) == (True, False, 1), "the second only asked ls-remote"
    new = commit_files(course["work"], {"index.ipynb": "{\"cells\": []}\n"}, "new notebook")
    publish(course["work"], served.root, "owner/course")
    third = fetch.fetch(url, "main", tmp_path / "third", cache_dir=cache)
    assert (third.commit, third.fetched, served.fetches()) == (new, True, 2), "a new commit is fetched"

    served.stop()  # the URL now points at a closed port
    cached = fetch.fetch(url, course["second"], tmp_path / "cached", cache_dir=cache)
    assert (cached.commit, cached.fetched) == (course["second"], False)
    assert (cached.directory / "binder" / "requirements.txt").read_text() == "pandas\n"
    assert fetch.has_commit(url, new, cache_dir=cache)
    assert one_line_error(fetch.fetch, url, "main", tmp_path / "branch", cache_dir=cache).startswith(
        "cannot reach 127.0.0.1:"), "a branch must be asked for: it may have moved"


def test_two_builds_of_one_new_repository_fetch_it_once(course, served, tmp_path):
    url, cache, results = course["url"], tmp_path / "cache", []

    def build(name):
        results.append(fetch.fetch(url, "main", tmp_path / name, cache_dir=cache))

    threads = [threading.Thread(target=build, args=(f"build-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [checkout.commit for checkout in results] == [course["second"]] * 2
    assert served.fetches() == 1 and sorted(c.fetched for c in results) == [False, True]


def test_an_unreachable_host_is_one_line(tmp_path):
    (port,) = free_tcp_ports(1)  # nothing listens there: connection refused
    url = f"http://127.0.0.1:{port}/owner/repo"
    message = one_line_error(fetch.fetch, url, "main", tmp_path / "x", cache_dir=tmp_path / "cache")
    assert message.startswith(f"cannot reach 127.0.0.1:{port}: Failed to connect to 127.0.0.1 port {port}")
    assert one_line_error(fetch.resolve_ref, "http://no-such-host.invalid/r", "main") == \
        "cannot reach no-such-host.invalid: no such host name"
    # A full commit id goes straight to the mirror update, which fails the same way and
    # leaves no half-made mirror behind.
    assert one_line_error(fetch.fetch, url, "1" * 40, tmp_path / "y", cache_dir=tmp_path / "cache").startswith(
        f"cannot reach 127.0.0.1:{port}")
    assert [path.name for path in (tmp_path / "cache").iterdir() if not path.name.endswith(".lock")] == []


def test_a_host_that_never_answers_is_stopped_at_the_timeout(tmp_path):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        message = one_line_error(fetch.resolve_ref, f"http://127.0.0.1:{port}/owner/repo", "main", timeout=2)
    assert message == f"127.0.0.1:{port} did not answer within 2 s (git ls-remote)"


def test_a_missing_repository_ref_or_commit_and_a_private_repository_are_one_line(course, served, tmp_path):
    cache = tmp_path / "cache"
    missing = served.repo_url("owner/nothing")
    assert one_line_error(fetch.fetch, missing, "main", tmp_path / "a", cache_dir=cache) == \
        f"repository {missing} not found"
    url = course["url"]
    assert one_line_error(fetch.fetch, url, "no-such-branch", tmp_path / "b", cache_dir=cache) == \
        f"no branch, tag or commit 'no-such-branch' in {url}"
    assert one_line_error(fetch.fetch, url, "abcdef1234", tmp_path / "c", cache_dir=cache) == \
        f"no branch, tag or commit 'abcdef1234' in {url}"
    absent = "0" * 40
    assert one_line_error(fetch.fetch, url, absent, tmp_path / "d", cache_dir=cache) == f"no commit {absent} in {url}"
    assert not (tmp_path / "d").exists() and not list(tmp_path.glob(".d.*")), "nothing half-made is left"
    private = GitHTTPServer(served.root, private=("owner/course",)).start()
    try:
        assert one_line_error(fetch.resolve_ref, private.repo_url("owner/course"), "main") == \
            f"{private.repo_url('owner/course')} asks for credentials: the repository is private or does not exist"
    finally:
        private.stop()


def test_refs_and_urls_are_checked_before_any_git_runs(tmp_path):
    assert "not a valid git branch" in one_line_error(fetch.fetch, "https://example.org/r", "--upload-pack=x",
                                                      tmp_path / "x")
    assert "only http and https" in one_line_error(fetch.resolve_ref, "file:///etc", "main")
    assert "only http and https" in one_line_error(fetch.resolve_ref, "ext::sh -c id", "main")


def test_the_binder_examples_fetched_through_a_gh_link_mapped_to_this_server(served, tmp_path):
    settings = default_settings()
    settings["providers"]["gh"]["url"] = served.url
    settings["allowed_hosts"] = ["127.0.0.1"]
    expected = {"requirements": ("pypi", "3.10", ()), "conda": ("conda", None, ()),
                "apt_install": ("none", None, ("lolcat", "cowsay"))}
    for name, (kind, python, apt) in expected.items():
        source = BINDER_FIXTURES / name
        require(source.is_dir(), f"the Binder example repository {source}",
                "set HUBSTEAD_BINDER_FIXTURES to the directory holding requirements/, conda/, apt_install/")
        work = tmp_path / "work" / name
        copy_tree(source, work)
        make_repo(work, {}, message=f"binder-examples/{name}")
        publish(work, served.root, f"binder-examples/{name}")
        spec = parse_launch(f"/v2/gh/binder-examples/{name}/HEAD?labpath=index.ipynb", "", settings)
        checkout = fetch.fetch(spec.repo_url, spec.ref, tmp_path / "builds" / name, cache_dir=tmp_path / "cache")
        found = read_repo(checkout.directory)
        assert (found.kind, found.python_version, found.apt_packages) == (kind, python, apt), name
        assert (checkout.directory / "index.ipynb").read_bytes() == (source / "index.ipynb").read_bytes()
    assert served.fetches() == 3


def test_a_learner_s_launch_of_an_unbuilt_repository_contacts_nothing(tmp_path, served, monkeypatch):
    """The permission check comes before `git ls-remote`: the root web service must not
    be made to contact any URL a learner names. An admin's launch of the same link does
    contact it (and then plans a build; systemd-run is not reached here)."""
    from hubstead import paths
    from hubstead.builder import launch_flow, pipeline
    from hubstead.config.schema import defaults

    monkeypatch.setattr(paths, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path / "envs")
    (tmp_path / "state").mkdir()
    make_repo(tmp_path / "work" / "lesson", {"requirements.txt": "six\n"})
    publish(tmp_path / "work" / "lesson", served.root, "owner/lesson")
    settings = defaults()
    settings["binder"]["providers"]["gh"]["url"] = served.url
    learner = {"name": "lena", "admin": False, "groups": []}
    with pytest.raises(launch_flow.LaunchRefused, match="ask your instructor") as refused:
        launch_flow.begin("gh/owner/lesson/main", "", learner, settings=settings)
    assert refused.value.status == 403
    assert served.requests == []
    plan = pipeline.plan(served.repo_url("owner/lesson"), "main", settings=settings)  # what an admin's click does
    assert plan.kind == "pypi" and served.requests
