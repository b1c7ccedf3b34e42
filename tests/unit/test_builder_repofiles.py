"""Reading a repository's repo2docker configuration files: where they are, which decide,
what is refused, and the configuration hash and cache key.

The three Binder example repositories are copied from BINDER_FIXTURES (read-only);
every other case is a tiny repository made in tmp_path."""

import os
import re

import pytest

from hubstead.builder import BuilderError
from hubstead.builder.repofiles import cache_key, config_hash, parse_apt, parse_runtime, read_repo
from tests.conftest import require
from tests.harness.gitserver import BINDER_FIXTURES, copy_tree

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fixture(name, tmp_path):
    source = BINDER_FIXTURES / name
    require(source.is_dir(), f"the Binder example repository {source}",
            "set HUBSTEAD_BINDER_FIXTURES to the directory holding requirements/, conda/, apt_install/")
    copy_tree(source, tmp_path / name)
    return tmp_path / name


def repo(tmp_path, files, name="repo"):
    root = tmp_path / name
    root.mkdir()
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content) if isinstance(content, bytes) else (root / path).write_text(content)
    return root


def refusal(root):
    with pytest.raises(BuilderError) as caught:
        read_repo(root)
    message = str(caught.value)
    assert message and "\n" not in message, "a refusal is one line"
    return message


def test_the_requirements_example_is_a_pypi_environment_on_its_runtime_python(tmp_path):
    root = fixture("requirements", tmp_path)
    found = read_repo(root)
    assert (found.kind, found.config_dir, found.python_version) == ("pypi", "", "3.10")
    assert found.files == {"requirements.txt": root / "requirements.txt", "runtime.txt": root / "runtime.txt"}
    assert found.requirements == (root / "requirements.txt").read_text()
    assert (found.spec_file, found.spec_name, found.install_repo) == (None, "requirements.txt", ())
    assert (found.apt_packages, found.post_build, found.start, found.ignored) == ((), None, None, ())
    before = found.config_hash
    (root / "README.md").write_text("changed\n")
    (root / "requirements.in").write_text("numpy\n")  # not a configuration file
    assert read_repo(root).config_hash == before
    (root / "runtime.txt").write_text("python-3.11\n")
    assert read_repo(root).config_hash != before


def test_the_conda_example_is_a_conda_environment(tmp_path):
    root = fixture("conda", tmp_path)
    found = read_repo(root)
    assert (found.kind, found.files, found.spec_file) == ("conda", {"environment.yml": root / "environment.yml"},
                                                          root / "environment.yml")
    assert found.python_version is None, "environment.yml pins its own python"


def test_the_apt_example_gets_the_default_environment_and_its_packages(tmp_path):
    root = fixture("apt_install", tmp_path)
    found = read_repo(root)
    assert (found.kind, found.apt_packages, found.spec_file) == ("none", ("lolcat", "cowsay"), None)
    assert found.files == {"apt.txt": root / "apt.txt"}


def test_a_repository_with_no_configuration_is_kind_none(tmp_path):
    empty = read_repo(repo(tmp_path, {"index.ipynb": "{}"}))
    assert (empty.kind, empty.files, empty.python_version) == ("none", {}, None)
    assert read_repo(repo(tmp_path, {"other.ipynb": "{}"}, "second")).config_hash == empty.config_hash


@pytest.mark.parametrize("directory", ["binder", ".binder"])
def test_a_binder_directory_wins_and_the_root_files_are_ignored(tmp_path, directory):
    root = repo(tmp_path, {"requirements.txt": "numpy\n", "Dockerfile": "FROM scratch\n", "setup.py": "",
                           "DESCRIPTION": "Package: x\n", f"{directory}/environment.yml": "dependencies: [python]\n",
                           f"{directory}/postBuild": "#!/bin/sh\n", f"{directory}/apt.txt": "git\n"})
    found = read_repo(root)
    assert (found.kind, found.config_dir) == ("conda", directory)
    assert found.files == {"environment.yml": root / directory / "environment.yml",
                           "apt.txt": root / directory / "apt.txt", "postBuild": root / directory / "postBuild"}
    assert found.post_build == root / directory / "postBuild"
    before = found.config_hash
    (root / "requirements.txt").write_text("pandas\n")
    assert read_repo(root).config_hash == before, "root files play no part once binder/ exists"


def test_an_empty_binder_directory_still_hides_the_root_as_in_repo2docker(tmp_path):
    root = repo(tmp_path, {"requirements.txt": "numpy\n"})
    (root / "binder").mkdir()
    assert read_repo(root).kind == "none"


def test_both_binder_directories_are_refused(tmp_path):
    root = repo(tmp_path, {"binder/requirements.txt": "numpy\n", ".binder/requirements.txt": "numpy\n"})
    assert "both a binder/ and a .binder/ directory" in refusal(root)


def test_environment_yml_takes_precedence_and_says_what_it_ignores(tmp_path):
    root = repo(tmp_path, {"environment.yml": "dependencies: [python=3.11]\n", "requirements.txt": "numpy\n",
                           "runtime.txt": "python-3.10\n", "Pipfile": "", "setup.py": "", "start": "#!/bin/sh\n"})
    found = read_repo(root)
    assert (found.kind, found.python_version, found.start) == ("conda", None, root / "start")
    assert set(found.files) == {"environment.yml", "start"}
    assert [line.split(":")[0] for line in found.ignored] == ["requirements.txt", "runtime.txt", "Pipfile", "setup.py"]
    assert all("environment.yml takes precedence" in line for line in found.ignored)


@pytest.mark.parametrize("name, content, words", [
    ("Dockerfile", "FROM python\n", "Dockerfile (a Dockerfile)"),
    ("Project.toml", "", "Project.toml (Julia)"),
    ("JuliaProject.toml", "", "JuliaProject.toml (Julia)"),
    ("REQUIRE", "julia 1.0\n", "REQUIRE (Julia)"),
    ("default.nix", "", "default.nix (Nix)"),
    ("DESCRIPTION", "Package: x\n", "DESCRIPTION (an R package)"),
])
def test_files_this_hub_cannot_honour_are_refused_by_name(tmp_path, name, content, words):
    message = refusal(repo(tmp_path, {name: content, "requirements.txt": "numpy\n"}))
    assert message.startswith(f"repositories with {words} are not supported yet")


def test_buildpacks_before_conda_win_over_environment_yml_as_in_repo2docker(tmp_path):
    for name in ("Dockerfile", "default.nix"):
        root = repo(tmp_path, {f"binder/{name}": "", "binder/environment.yml": "dependencies: [python]\n"}, name)
        assert refusal(root).startswith(f"repositories with binder/{name} ")
    root = repo(tmp_path, {"environment.yml": "dependencies: [python]\n", "runtime.txt": "r-2023-01-01\n"}, "r")
    found = read_repo(root)
    assert (found.kind, found.r_packages) == ("pypi", ())
    assert found.ignored == ("environment.yml: an R runtime.txt takes precedence (as in repo2docker)",)
    both = repo(tmp_path, {"binder/environment.yml": "dependencies: [r-base]\n", "binder/install.R": ""}, "conda-r")
    assert refusal(both).startswith("binder/install.R beside binder/environment.yml (R from conda) is not supported")


def test_r_from_debian_for_an_install_r_of_packages(tmp_path):
    root = repo(tmp_path, {"install.R": "# packages\ninstall.packages(c('digest', \"ggplot2\"),\n  repos = 'https://cran.r-project.org')\n"
                                        "library(digest)\n", "runtime.txt": "r-4.2-2023-01-01\n",
                           "requirements.txt": "numpy\n"})
    found = read_repo(root)
    assert (found.kind, found.r_packages, found.r_version, found.requirements) == (
        "pypi", ("digest", "ggplot2"), "4.2", "numpy\n")
    assert ("install.R", "its packages installed from Debian: r-cran-digest r-cran-ggplot2") in found.actions
    for line in ("devtools::install_github('x/y')", "install.packages('x', lib=mine, foo=1)", "system('id')",
                 "install.packages(pkgs)"):
        message = refusal(repo(tmp_path, {"install.R": f"{line}\n"}, f"r-{abs(hash(line))}"))
        assert message.startswith("install.R line 1: ") and "\n" not in message
    assert "not an R runtime" in refusal(repo(tmp_path, {"runtime.txt": "r-four\n"}, "r-bad"))


def test_runtime_txt_names_a_python_3_version():
    assert [parse_runtime(text) for text in ("python-3.11", "python-3.12.1\n", "python-3")] == ["3.11", "3.12", None]
    for text, words in (("python-2.7", "Python 2 is not supported"), ("3.11", "not a Python runtime"),
                        ("", "not a Python runtime"), ("julia-1.9", "not a Python runtime")):
        with pytest.raises(BuilderError, match=words):
            parse_runtime(text)


def test_a_runtime_alone_builds_an_environment_with_that_python(tmp_path):
    """repo2docker's Python buildpack is chosen by a Python runtime.txt alone."""
    found = read_repo(repo(tmp_path, {"runtime.txt": "python-3.11\n"}))
    assert (found.kind, found.python_version, set(found.files)) == ("pypi", "3.11", {"runtime.txt"})
    assert found.requirements == "", "only what every environment gets"
    assert ("runtime.txt", "Python 3.11") in found.actions


def test_apt_txt_is_names_only_comments_and_blank_lines_skipped():
    text = "# tools\r\ncowsay  # the cow\n\n  lolcat cowsay\nlibgdal-dev g++ python3.11\n"
    assert parse_apt(text) == ("cowsay", "lolcat", "libgdal-dev", "g++", "python3.11")
    for line, bad in (("libfoo=1.2", "libfoo=1.2"), ("-y", "-y"), ("Firefox", "Firefox"), ("x", "x"),
                      ("pkg;reboot", "pkg;reboot"), ("$(id)", "$(id)")):
        with pytest.raises(BuilderError, match=rf"apt.txt line 2: '{re.escape(bad)}' is not a Debian"):
            parse_apt(f"git\n{line}\n")


def test_apt_txt_that_is_not_text_or_not_names_is_refused_by_line(tmp_path):
    assert "binder/apt.txt line 1" in refusal(repo(tmp_path, {"binder/apt.txt": "vim=2:9.0\n"}))
    assert "apt.txt is not UTF-8 text" in refusal(repo(tmp_path, {"apt.txt": b"\xff\xfe\n"}, "binary"))


def test_requirements_that_install_the_repository_itself_are_installed_after_the_lock(tmp_path):
    for number, (line, target) in enumerate((("-e .", "."), (".", "."), ("./src/pkg", "./src/pkg"),
                                             ("--editable=.", "."), ("file:./dist/x.whl", "./dist/x.whl"))):
        found = read_repo(repo(tmp_path, {"requirements.txt": f"numpy\n{line}\n"}, f"local-{number}"))
        assert (found.kind, found.requirements, found.install_repo) == ("pypi", "numpy\n", (target,))
        assert found.depends_on_content, "the repository's own files go into the build: per commit"
    assert read_repo(repo(tmp_path, {"requirements.txt": "-r base.txt\ngit+https://x.example/p.git\n"})).kind == "pypi"
    for line in ("-e ../other", "/etc/pkg", "file:///etc/x"):
        root = repo(tmp_path, {"requirements.txt": f"{line}\n"}, f"outside-{abs(hash(line))}")
        assert "names a path outside the repository" in refusal(root)


def test_a_python_package_at_the_root_is_installed_as_repo2docker_does(tmp_path):
    setup = read_repo(repo(tmp_path, {"setup.py": "from setuptools import setup\nsetup()\n"}, "setup"))
    assert (setup.kind, setup.requirements, setup.install_repo) == ("pypi", "", (".",))
    project = {"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\n[project]\nname = "x"\n'}
    assert read_repo(repo(tmp_path, project, "project")).install_repo == (".",)
    tool_only = read_repo(repo(tmp_path, {"pyproject.toml": "[tool.black]\nline-length = 99\n"}, "tool"))
    assert tool_only.kind == "none" and any("pyproject.toml: not a package" in line for line in tool_only.ignored)
    in_binder = read_repo(repo(tmp_path, {"setup.py": "", "binder/requirements.txt": "numpy\n"}, "binder"))
    assert in_binder.install_repo == (), "with a binder directory, repo2docker does not install the root"
    assert "not valid TOML" in refusal(repo(tmp_path, {"pyproject.toml": "[project\n"}, "bad"))


def test_postbuild_or_start_without_an_environment_file(tmp_path):
    """repo2docker runs postBuild in its default environment: here one is built for it;
    a start script alone needs no environment of its own."""
    post = read_repo(repo(tmp_path, {"postBuild": "#!/bin/sh\n"}, "post"))
    assert (post.kind, post.requirements, post.depends_on_content) == ("pypi", "", True)
    start = read_repo(repo(tmp_path, {"start": "#!/bin/sh\nexec \"$@\"\n"}, "start"))
    assert (start.kind, start.start) == ("none", start.root / "start")


def test_environment_yaml_is_read_like_environment_yml(tmp_path):
    found = read_repo(repo(tmp_path, {"environment.yaml": "dependencies: [python=3.12]\n", "requirements.txt": "x\n"}))
    assert (found.kind, found.spec_file, found.spec_name) == ("conda", found.root / "environment.yaml",
                                                              "environment.yaml")
    assert found.ignored == ("requirements.txt: environment.yaml takes precedence (as in repo2docker)",)


def test_requirements3_txt_is_named_as_ignored(tmp_path):
    found = read_repo(repo(tmp_path, {"requirements.txt": "x\n", "requirements3.txt": "y\n"}))
    assert any(line.startswith("requirements3.txt: repo2docker reads it only beside a Python 2") for line in found.ignored)
    assert "requirements3.txt" not in found.files


def test_configuration_files_linking_outside_the_repository_are_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("numpy\n")
    root = repo(tmp_path, {"README.md": ""})
    os.symlink(secret, root / "requirements.txt")
    assert refusal(root) == "requirements.txt is a link to outside the repository"
    outside = tmp_path / "outside"
    outside.mkdir()
    linked = repo(tmp_path, {"README.md": ""}, "linked-dir")
    os.symlink(outside, linked / "binder")
    assert refusal(linked) == "binder is a link to outside the repository"
    inside = repo(tmp_path, {"deps/requirements.txt": "numpy\n"}, "inside")
    os.symlink("deps/requirements.txt", inside / "requirements.txt")
    assert read_repo(inside).kind == "pypi", "a link within the repository is fine"


def test_a_configuration_name_that_is_a_directory_is_refused(tmp_path):
    assert refusal(repo(tmp_path, {"postBuild/run.sh": ""})) == "postBuild is not a file"


def test_config_hash_covers_names_and_bytes(tmp_path):
    one = repo(tmp_path, {"apt.txt": "git\n", "postBuild": "git\n"}, "one")
    two = repo(tmp_path, {"apt.txt": "git\ngit\n"}, "two")
    hash_one = config_hash(one, {"apt.txt": one / "apt.txt", "postBuild": one / "postBuild"})
    hash_two = config_hash(two, {"apt.txt": two / "apt.txt"})
    assert hash_one != hash_two and len(hash_one) == 64
    moved = repo(tmp_path, {"binder/apt.txt": "git\n", "binder/postBuild": "git\n"}, "moved")
    assert read_repo(moved).config_hash != read_repo(one).config_hash, "the path is part of the hash"
    assert read_repo(one).config_hash == hash_one


def test_cache_key_joins_commit_and_config_hash():
    digest = "ab" * 32
    assert cache_key(COMMIT, digest) == "0123456789ab-abababababab"
    assert cache_key("f" * 64, digest) == "ffffffffffff-abababababab", "sha256 repositories too"
    for commit, digest_ in (("main", digest), (COMMIT[:12], digest), (COMMIT, "xyz"), (COMMIT.upper(), digest)):
        with pytest.raises(BuilderError):
            cache_key(commit, digest_)


def test_files_that_only_shape_repo2dockers_image_are_named_as_ignored(tmp_path):
    found = read_repo(repo(tmp_path, {".containerignore": "binder/\n", "binder/requirements.txt": "x\n"}))
    assert found.ignored == (".containerignore: it shapes repo2docker's image; here learners get the whole "
                             "repository with nbgitpuller",)
