"""A Pipfile / Pipfile.lock read into uv's requirements, the Python asked for and whether
the repository itself is installed (hubstead.builder.pipenv), as repo2docker's pipenv
step would install them. The last tests read repo2docker's own Pipfile test
repositories (tests/fixtures/repo2docker/pipfile/)."""

from pathlib import Path

import pytest

from hubstead.builder import BuilderError
from hubstead.builder.pipenv import read_pipenv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "repo2docker" / "pipfile"
HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64
SOURCE = '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\nname = "pypi"\n\n'


def pipfile(tmp_path, text, directory=""):
    path = tmp_path / directory / "Pipfile"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SOURCE + text)
    return path


def lockfile(tmp_path, text, directory=""):
    path = tmp_path / directory / "Pipfile.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refused(pipfile_path=None, lock_path=None, config_dir=""):
    with pytest.raises(BuilderError) as caught:
        read_pipenv(pipfile_path, lock_path, config_dir=config_dir)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def test_both_sections_with_version_strings(tmp_path):
    plan = read_pipenv(pipfile(tmp_path, '[packages]\nrequests = "*"\nnumpy = ">=1.0"\n\n'
                                         '[dev-packages]\npytest = "==8.0.0"\n'), None)
    assert plan.requirements == ("requests", "numpy>=1.0", "pytest==8.0.0")
    assert plan.python_version is None and plan.install_repo is False and plan.from_lock is False


def test_tables_with_version_extras_and_markers(tmp_path):
    plan = read_pipenv(pipfile(tmp_path, '[packages]\n'
                                         'requests = {version = ">=2.0", extras = ["socks", "security"]}\n'
                                         'pywin = {version = "*", markers = "os_name == \'nt\'"}\n'
                                         'uvloop = {version = "*", sys_platform = "== \'linux\'"}\n'
                                         'rich = {version = "~=13.0", editable = false}\n'), None)
    assert plan.requirements == ("requests[socks,security]>=2.0", "pywin ; (os_name == 'nt')",
                                 "uvloop ; (sys_platform == 'linux')", "rich~=13.0")


def test_git_and_file_entries_become_direct_references(tmp_path):
    plan = read_pipenv(pipfile(tmp_path, '[packages]\n'
                                         'lib = {git = "https://git.example.org/lib.git", ref = "v1.2", '
                                         'editable = true}\n'
                                         'sub = {git = "https://git.example.org/mono.git", subdirectory = "pkg"}\n'
                                         'tarball = {file = "https://files.example.org/t-1.0.tar.gz"}\n'), None)
    assert plan.requirements == ("lib @ git+https://git.example.org/lib.git@v1.2",
                                 "sub @ git+https://git.example.org/mono.git#subdirectory=pkg",
                                 "tarball @ https://files.example.org/t-1.0.tar.gz")


@pytest.mark.parametrize("directory, path", [("", "."), ("binder", ".."), (".binder", "../"), ("", "./")])
def test_a_path_entry_naming_the_repository_installs_it(tmp_path, directory, path):
    plan = read_pipenv(pipfile(tmp_path, f'[packages]\nthere = "*"\ndummy = {{path = "{path}", editable = true}}\n',
                               directory), None, config_dir=directory)
    assert plan.install_repo is True
    assert plan.requirements == ("there",)


@pytest.mark.parametrize("directory, path, says", [
    ("", "sub/pkg", "is not the repository's root"),
    ("binder", ".", "is not the repository's root"),
    ("", "..", "leaves the repository"),
])
def test_other_paths_are_refused_naming_the_entry(tmp_path, directory, path, says):
    message = refused(pipfile(tmp_path, f'[packages]\nlocal = {{path = "{path}"}}\n', directory),
                      config_dir=directory)
    prefix = f"{directory}/" if directory else ""
    assert message.startswith(f"{prefix}Pipfile [packages] local: ") and says in message, message


@pytest.mark.parametrize("requires, python", [
    ('python_version = "3.6"', "3.6"),
    ('python_full_version = "3.11.4"', "3.11"),
    ('python_version = "3"', None),
    ('python_version = "2"', "2.7"),
    ("", None),
])
def test_the_python_asked_for(tmp_path, requires, python):
    plan = read_pipenv(pipfile(tmp_path, f'[packages]\nthere = "*"\n\n[requires]\n{requires}\n'), None)
    assert plan.python_version == python


LOCK = """{
  "_meta": {"requires": {"python_version": "3.11"},
            "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]},
  "default": {"pypi-pkg-test": {"hashes": ["%s", "%s"], "index": "pypi", "version": "==0.0.4"},
              "colorama": {"hashes": ["%s"], "markers": "sys_platform == 'win32'", "version": "==0.4.6"}},
  "develop": {"there": {"hashes": ["%s"], "index": "pypi", "version": "==0.0.9"}}
}""" % (HASH_A, HASH_B, HASH_A, HASH_B)


def test_the_lock_wins_over_the_pipfile_with_its_hashes(tmp_path):
    plan = read_pipenv(pipfile(tmp_path, '[packages]\nnumpy = "*"\n\n[requires]\npython_version = "3.6"\n'),
                       lockfile(tmp_path, LOCK))
    assert plan.requirements == (
        f"pypi-pkg-test==0.0.4 --hash={HASH_A} --hash={HASH_B}",
        f"colorama==0.4.6 ; (sys_platform == 'win32') --hash={HASH_A}",
        f"there==0.0.9 --hash={HASH_B}",
    )
    assert not any(line.startswith("numpy") for line in plan.requirements), "numpy is in Pipfile, not the lock"
    assert plan.python_version == "3.11", "the lock's _meta.requires comes first"
    assert plan.from_lock is True
    assert plan.notes == ("Pipfile: not read for packages, Pipfile.lock takes precedence (as in repo2docker)",)


def test_a_lock_alone_and_the_pipfiles_python_when_the_lock_says_none(tmp_path):
    alone = read_pipenv(None, lockfile(tmp_path, LOCK))
    assert len(alone.requirements) == 3 and alone.notes == ()
    other = tmp_path / "other"
    lock = lockfile(other, LOCK.replace('"requires": {"python_version": "3.11"}', '"requires": {}'))
    plan = read_pipenv(pipfile(other, '[packages]\nnumpy = "*"\n\n[requires]\npython_version = "3.12"\n'), lock)
    assert plan.python_version == "3.12"


def test_a_locked_path_entry_installs_the_repository(tmp_path):
    lock = lockfile(tmp_path, '{"_meta": {"sources": []}, "default": {"dummy": {"editable": true, "path": "."},'
                              f' "pypi-pkg-test": {{"hashes": ["{HASH_A}"], "version": "==0.0.4"}}}}, "develop": {{}}}}')
    plan = read_pipenv(None, lock)
    assert plan.install_repo is True
    assert plan.requirements == (f"pypi-pkg-test==0.0.4 --hash={HASH_A}",)


@pytest.mark.parametrize("entry, says", [
    ('numpy = "1.0"', "[packages] numpy: '1.0' is not a version specifier"),
    ('numpy = "==1.0 --index-url http://evil.example"', "[packages] numpy: "),
    ('"--index-url" = "*"', "not a package name"),
    ('numpy = {version = "*", markers = "os_name = nt"}', "is not an environment marker"),
    ('numpy = {version = "*", extras = ["a b"]}', "is not an extra's name"),
    ('numpy = {version = "*", index = "private"}', "index = 'private' is not one of the file's [[source]] names"),
    ('numpy = {version = "*", hash = "x"}', "'hash' is not supported"),
    ('numpy = {git = "file:///etc"}', "is not an http(s), ssh or git URL"),
    ('numpy = {git = "https://git.example.org/x.git", ref = "main; rm -rf /"}', "is not a branch, tag or commit"),
    ("numpy = 3", "write a version string"),
])
def test_entries_that_cannot_be_expressed_are_refused_naming_them(tmp_path, entry, says):
    message = refused(pipfile(tmp_path, f"[packages]\n{entry}\n"))
    assert message.startswith("Pipfile [packages] ") and says in message, message


def test_a_package_from_another_index_is_refused(tmp_path):
    path = tmp_path / "Pipfile"
    path.write_text('[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n\n'
                    '[[source]]\nurl = "https://packages.example.org/simple"\nname = "private"\n\n'
                    '[packages]\nsecret = {version = "*", index = "private"}\n')
    message = refused(path)
    assert message == ("Pipfile [packages] secret: index 'private' (https://packages.example.org/simple) is not "
                       "PyPI; only PyPI packages are supported")


@pytest.mark.parametrize("text, says", [
    ('{"default": {"x": {"version": "==1.0", "hashes": ["md5:zz"]}}}', '"default" x: its hashes are not'),
    ('{"default": {"x": {"hashes": ["%s"]}}}' % HASH_A, '"default" x: has no version'),
    ('{"default": {"x": {"version": "==1.0", "hashes": ["%s"]}, "y": {"version": "==2.0"}}}' % HASH_A,
     '"default" y: has no hashes while other entries do'),
    ('{"default": {"x": {"git": "https://git.example.org/x.git", "hashes": ["%s"]}}}' % HASH_A,
     "cannot be hash-checked"),
    ('{"default": {"x": "==1.0"}}', '"default" x: an entry is an object'),
    ('{"default": [1]}', '"default" is not an object'),
    ('[1, 2]', "Pipfile.lock is not a JSON object"),
    ('{"default": {', "Pipfile.lock is not valid JSON"),
])
def test_a_lock_that_cannot_be_installed_is_refused(tmp_path, text, says):
    message = refused(lock_path=lockfile(tmp_path, text), config_dir="")
    assert says in message and message.startswith("Pipfile.lock"), message


def test_unreadable_files_are_refused_naming_them(tmp_path):
    bad = tmp_path / "binder" / "Pipfile"
    bad.parent.mkdir()
    bad.write_text("[packages\nx = 1\n")
    assert refused(bad, config_dir="binder").startswith("binder/Pipfile is not valid TOML: ")
    bad.write_bytes(b"\xff\xfe")
    assert refused(bad, config_dir="binder") == "binder/Pipfile is not UTF-8 text"
    assert refused(tmp_path / "missing" / "Pipfile").startswith("cannot read Pipfile: ")
    assert refused() == "neither Pipfile nor Pipfile.lock given"


def test_prereleases_are_refused_rather_than_dropped(tmp_path):
    message = refused(pipfile(tmp_path, '[packages]\nx = "*"\n\n[pipenv]\nallow_prereleases = true\n'))
    assert "allow_prereleases is not supported" in message


# repo2docker's own Pipfile test repositories (ported into tests/fixtures/repo2docker/).

def fixture_plan(name, config_dir=""):
    base = FIXTURES / name / config_dir
    found = [base / f if (base / f).exists() else None for f in ("Pipfile", "Pipfile.lock")]
    return read_pipenv(*found, config_dir=config_dir)


def names(plan):
    return [line.split("==")[0].split(" ")[0] for line in plan.requirements]


def test_repo2docker_pipfile_lock_installs_the_lock_not_the_pipfile():
    plan = fixture_plan("pipfile-lock")
    assert names(plan) == ["pypi-pkg-test", "there"] and "numpy" not in names(plan)
    assert all("--hash=sha256:" in line for line in plan.requirements)


def test_repo2docker_binder_folders():
    assert names(fixture_plan("binder-folder", "binder")) == ["pypi-pkg-test"]
    locked = fixture_plan("binder-folder-lock", "binder")
    assert names(locked) == ["pypi-pkg-test"] and locked.from_lock


def test_repo2docker_python_versions():
    assert fixture_plan("py36").python_version == "3.6"
    assert fixture_plan("py2-with-server-and-kernel-req").python_version == "2.7"
    assert fixture_plan("requirements-txt").python_version is None


def test_repo2docker_setup_py_entries():
    explicit = fixture_plan("setup-py-explicit")
    assert explicit.install_repo and names(explicit) == ["there"]
    in_binder_dir = fixture_plan("setup-py-explicit-in-binder-dir", ".binder")
    assert in_binder_dir.install_repo and names(in_binder_dir) == ["there"]
    implicit = fixture_plan("setup-py-implicit")
    assert not implicit.install_repo and names(implicit) == ["there"]
