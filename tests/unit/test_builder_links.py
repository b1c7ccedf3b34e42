"""Binder launch links: BinderHub's provider specs and landing parameters, the `binder`
config section's providers and hosts, and one-line refusals."""

import copy

import pytest

from hubstead import config
from hubstead.builder import BuilderError
from hubstead.builder.links import Landing, LaunchSpec, default_settings, landing_url, load_settings, parse_launch


def settings(**changes):
    """The default `binder` section with some keys changed (dotted names as keywords use __)."""
    result = copy.deepcopy(default_settings())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = result
        for part in parents:
            node = node[part]
        node[last] = value
    return result


def refusal(path, query="", **changes):
    with pytest.raises(BuilderError) as caught:
        parse_launch(path, query, settings(**changes) if changes else None)
    message = str(caught.value)
    assert message and "\n" not in message, "a refusal is one line"
    return message


def test_a_mybinder_github_link_works_with_the_hub_host_swapped_in():
    spec = parse_launch("/v2/gh/binder-examples/requirements/HEAD?urlpath=lab/tree/index.ipynb")
    assert spec == LaunchSpec("gh", "https://github.com/binder-examples/requirements", "HEAD",
                              Landing("urlpath", "lab/tree/index.ipynb"))
    assert landing_url(spec) == "lab/tree/index.ipynb"


def test_github_specs_keep_slashes_in_the_ref_and_drop_a_git_suffix():
    assert parse_launch("gh/owner/repo/feature/x").ref == "feature/x"
    assert parse_launch("gh/owner/repo/feature%2Fx").ref == "feature/x"
    assert parse_launch("gh/owner/repo.git/v1.0").repo_url == "https://github.com/owner/repo"
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert parse_launch(f"v2/gh/owner/repo/{commit}").ref == commit


def test_the_config_maps_gh_and_gl_to_other_base_urls():
    mapped = settings(providers__gh__url="http://127.0.0.1:8999/", providers__gl__url="https://git.example.org/gl")
    assert parse_launch("gh/owner/repo/main", "", mapped).repo_url == "http://127.0.0.1:8999/owner/repo"
    assert parse_launch("gl/group%2Fproject/main", "", mapped).repo_url == "https://git.example.org/gl/group/project.git"


def test_gitlab_specs_carry_the_project_path_encoded_in_one_segment():
    spec = parse_launch("gl/group%2Fsub%2Fproject/release%2F2024")
    assert (spec.provider, spec.repo_url, spec.ref) == ("gl", "https://gitlab.com/group/sub/project.git", "release/2024")
    assert "not a GitLab project path" in refusal("gl/group/project/main")  # not encoded: only "group"
    assert "gl/URL-ENCODED-PROJECT/REF" in refusal("gl/group%2Fproject")


def test_git_specs_carry_an_encoded_url_and_only_http_and_https():
    spec = parse_launch("git/https%3A%2F%2Fcodeberg.org%2Fowner%2Frepo.git/v2.1")
    assert (spec.provider, spec.repo_url, spec.ref) == ("git", "https://codeberg.org/owner/repo.git", "v2.1")
    assert "URL-encoded" in refusal("git/https://codeberg.org/owner/repo.git/main")
    assert "only http and https" in refusal("git/file%3A%2F%2F%2Fetc%2Fhubstead/main")
    assert "only http and https" in refusal("git/ssh%3A%2F%2Fgit%40example.org%2Frepo/main")
    assert "only http and https" in refusal("git/ext%3A%3Ash%20-c%20id/main")
    assert "credentials" in refusal("git/https%3A%2F%2Fuser%3Atoken%40example.org%2Frepo/main")
    assert "git/URL-ENCODED-URL/REF" in refusal("git/https%3A%2F%2Fexample.org%2Frepo")


def test_doi_providers_are_off_by_default_and_parse_when_allowed():
    assert "binder.allowed_providers: gh, gl, git" in refusal("zenodo/10.5281/zenodo.3242074")
    doi_ok = settings(allowed_providers=["gh", "zenodo", "figshare"])
    zenodo = parse_launch("zenodo/10.5281/zenodo.3242074", "", doi_ok)
    assert (zenodo.provider, zenodo.repo_url, zenodo.ref) == ("zenodo", "https://doi.org/10.5281/zenodo.3242074", "")
    figshare = parse_launch("/v2/figshare/10.6084/m9.figshare.9782777.v1?labpath=a.ipynb", "", doi_ok)
    assert figshare.repo_url == "https://doi.org/10.6084/m9.figshare.9782777.v1"
    assert landing_url(figshare) == "lab/tree/a.ipynb"
    assert "zenodo/DOI" in refusal("zenodo/not-a-doi", allowed_providers=["zenodo"])
    assert "not allowed" in refusal("gh/owner/repo/main", allowed_providers=["zenodo"])


def test_unknown_providers_and_malformed_specs_are_refused_in_one_line():
    assert "known providers: gh, gl, git, zenodo, figshare" in refusal("bb/owner/repo/main")
    assert "did you mean gh/owner/repo/HEAD?" in refusal("gh/owner/repo")
    assert "control characters" in refusal("gh/owner/repo\nX-Injected: 1/main")
    assert "gh/OWNER/REPO/REF" in refusal("gh/owner")
    assert "not a valid owner name" in refusal("gh/own%20er/repo/main")
    assert "not a valid repository name" in refusal("gh/owner/../main")
    for bad_ref in ("-upload-pack=evil", "a..b", "with%20space", "topic.lock", "ref%0Anewline", "x%5E%7B%7D"):
        assert "not a valid git branch, tag or commit" in refusal(f"gh/owner/repo/{bad_ref}")


def test_allowed_hosts_limits_git_hosts_case_insensitively():
    only_github = {"allowed_hosts": ["GitHub.com"]}
    assert parse_launch("gh/owner/repo/main", "", settings(**only_github)).repo_url == "https://github.com/owner/repo"
    message = refusal("git/https%3A%2F%2Fevil.example%2Frepo.git/main", **only_github)
    assert message == "host evil.example is not allowed on this hub (binder.allowed_hosts: github.com)"
    assert "gitlab.com is not allowed" in refusal("gl/group%2Fproject/main", **only_github)


def test_landing_urlpath_wins_then_labpath_then_filepath():
    base = "gh/owner/repo/main"
    assert landing_url(parse_launch(base, "filepath=a.ipynb&labpath=b.ipynb&urlpath=tree/c.ipynb")) == "tree/c.ipynb"
    assert landing_url(parse_launch(base, "filepath=a.ipynb&labpath=b.ipynb")) == "lab/tree/b.ipynb"
    assert landing_url(parse_launch(base, "filepath=notes/a.ipynb")) == "lab/tree/notes/a.ipynb"
    assert landing_url(parse_launch(base, {"labpath": ["/my notes/é.ipynb/"]})) == "lab/tree/my%20notes/%C3%A9.ipynb"
    assert landing_url(parse_launch(base, "urlpath=%2Flab%2Ftree%2Findex.ipynb")) == "lab/tree/index.ipynb"
    assert landing_url(parse_launch(base, "urlpath=")) == "lab", "an empty value asks for nothing"
    assert landing_url(parse_launch(base)) == "lab" and landing_url(parse_launch(base), default="tree") == "tree"


def test_a_landing_path_cannot_leave_the_users_server():
    for query in ("urlpath=../../hub/token", "urlpath=lab/%2e%2e/%2e%2e/hub/admin", "labpath=a/../../x",
                  "urlpath=lab\\..\\..\\hub", "urlpath=https://evil.example/", "filepath=a%0Ab"):
        assert "leaves the user's server" in refusal("gh/o/r/main", query)
    # Leading slashes are dropped, as BinderHub drops them: a path inside the server.
    assert landing_url(parse_launch("gh/o/r/main", "urlpath=//evil.example/x")) == "evil.example/x"


def test_settings_come_from_the_config_file_with_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("binder:\n  providers:\n    gh:\n      url: http://127.0.0.1:9418\n"
                    "  allowed_hosts: [127.0.0.1]\n")
    loaded = load_settings(path)
    assert loaded["providers"]["gl"]["url"] == "https://gitlab.com" and loaded["who_can_build"] == "instructors"
    assert parse_launch("gh/o/r/main", "", loaded).repo_url == "http://127.0.0.1:9418/o/r"
    assert load_settings(tmp_path / "absent.yaml") == default_settings()


def test_the_binder_section_validates_like_every_other():
    assert default_settings() == {
        "providers": {"gh": {"url": "https://github.com"}, "gl": {"url": "https://gitlab.com"}},
        "allowed_providers": ["gh", "gl", "git"], "allowed_hosts": [], "who_can_build": "instructors",
        "build_timeout": 1800, "build_memory": "4G", "build_cpu": None, "python_fallback": True,
        "max_concurrent_builds": 2, "network_allow": [], "apt": {"enabled": True}}
    config.validate({"binder": {"allowed_providers": ["gh", "zenodo"], "who_can_build": "users"}})
    with pytest.raises(config.ConfigError, match="binder.allowed_providers.0: 'bitbucket' is not one of"):
        config.validate({"binder": {"allowed_providers": ["bitbucket"]}})
    with pytest.raises(config.ConfigError, match="binder.who_can_build"):
        config.validate({"binder": {"who_can_build": "everyone"}})
    with pytest.raises(config.ConfigError, match="binder.providers.gh.url"):
        config.validate({"binder": {"providers": {"gh": {"url": "github.com"}}}})
    with pytest.raises(config.ConfigError, match="binder.build_timeout"):
        config.validate({"binder": {"build_timeout": 5}})
