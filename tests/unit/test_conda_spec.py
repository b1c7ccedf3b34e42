"""environment.yml parsing (envs/condaspec.py), channel names, and the lock hash.

Every mistake in a spec must come back as ONE line naming the file (and the line, when
there is one): that line is what an instructor sees in the web page or the CLI.
"""

import textwrap
from pathlib import Path

import pytest

from hubstead.envs import EnvError
from hubstead.envs.conda import ANACONDA_DEFAULTS, channel_urls, lock_hash
from hubstead.envs.condaspec import CondaSpec, check_match_spec, parse_environment_yml

# The binder example used across the project's design notes.
BINDER_EXAMPLE = """\
name: example-environment
channels:
  - conda-forge
dependencies:
  - python=3.11
  - numpy
  - psutil
  - toolz
  - matplotlib
  - dill
  - pandas
  - partd
  - bokeh
  - dask
"""


def parse(text, source="environment.yml"):
    return parse_environment_yml(textwrap.dedent(text), source)


def test_the_binder_example_parses():
    spec = parse(BINDER_EXAMPLE)
    assert spec == CondaSpec(
        name="example-environment", channels=("conda-forge",),
        dependencies=("python=3.11", "numpy", "psutil", "toolz", "matplotlib", "dill", "pandas",
                      "partd", "bokeh", "dask"),
        pip=(), source="environment.yml")


def test_pip_section_channels_variables_and_exported_prefix():
    spec = parse("""\
        name: course
        channels:
          - conda-forge
          - nodefaults
        dependencies:
          - python=3.11.4=h955ad1f_0   # exact build, as `conda env export` writes it
          - conda-forge::numpy >=1.26,<2
          - scipy[version='>=1.11']
          - pip
          - pip:
            - requests==2.31.0
            - -r requirements-extra.txt
        variables:
          OMP_NUM_THREADS: 1
        platforms: [linux-64]
        prefix: /home/someone/miniconda3/envs/course
        """)
    assert spec.name == "course"
    assert spec.channels == ("conda-forge", "nodefaults")
    assert spec.dependencies == ("python=3.11.4=h955ad1f_0", "conda-forge::numpy >=1.26,<2",
                                 "scipy[version='>=1.11']", "pip")
    assert spec.pip == ("requests==2.31.0", "-r requirements-extra.txt")
    assert spec.variables == {"OMP_NUM_THREADS": "1"}
    assert spec.platforms == ("linux-64",)


def test_no_channels_and_no_name_are_allowed():
    spec = parse("dependencies: [python]\n")
    assert spec.name is None and spec.channels == () and spec.dependencies == ("python",)


@pytest.mark.parametrize("text, expected", [
    # YAML itself: the line of the problem.
    ("name: x\n\tdependencies: [a]\n", "environment.yml, line 2: not valid YAML: found character '\\t'"),
    ("name: x\ndependencies: [a, b\n", "environment.yml, line 3: not valid YAML: expected ','"),
    ("name: x\nname: y\ndependencies: [a]\n", "environment.yml, line 2: not valid YAML: found duplicate key \"name\""),
    # Shape of the document.
    ("", "environment.yml: is empty"),
    ("- numpy\n- pandas\n", "environment.yml, line 1: must be a mapping with name:, channels: and dependencies:, not a list"),
    ("name: x\n", "environment.yml: has no dependencies: list"),
    ("dependencies:\n", "environment.yml, line 1: dependencies: is empty"),
    ("dependencies: numpy\n", "environment.yml, line 1: dependencies: must be a list"),
    # Keys.
    ("name: x\ndependancies: [a]\n", "environment.yml, line 2: unknown key 'dependancies'; did you mean dependencies?"),
    ("name: x\nsetup: 1\ndependencies: [a]\n", "environment.yml, line 2: unknown key 'setup' (known: name, channels, dependencies"),
    ("dependencies: [python, pip]\npip:\n  - requests\n", "environment.yml, line 2: pip: belongs inside dependencies:, as an item `- pip:`"),
    ("name: 2024\ndependencies: [a]\n", "environment.yml, line 1: name: must be a string, not 2024 (quote it)"),
    ("channels: conda-forge\ndependencies: [a]\n", "environment.yml, line 1: channels: must be a list (one `- item` per line), not a string"),
    ("channels:\n  - conda-forge\n  - 3\ndependencies: [a]\n", "environment.yml, line 3: channels: item 2 must be a non-empty string, not 3"),
    ("variables: [A]\ndependencies: [a]\n", "environment.yml, line 1: variables: must be a mapping"),
    # Dependencies.
    ("dependencies:\n  - python\n  - numpy>>1\n", "environment.yml, line 3: dependency 'numpy>>1' is not a valid conda package spec: unable to parse version spec: >>1"),
    ("dependencies:\n  - python: 3.11\n", "environment.yml, line 2: dependency `python: ...` is not a package spec (only `- pip:` may hold a list); did you mean `- python=3.11`?"),
    ("dependencies:\n  - 3.11\n", "environment.yml, line 2: dependency item 1 must be a package spec such as `numpy>=1.26` or a `- pip:` list, not 3.11"),
    ("dependencies:\n  - python\n  -\n", "environment.yml, line 3: dependency item 2 must be a package spec"),
    ("dependencies:\n  - python\n  - pip:\n    - {a: 1}\n", "environment.yml, line 4: pip: item 1 must be a non-empty string"),
    ("dependencies:\n  - pip:\n    - requests\n", "environment.yml, line 1: dependencies: lists no conda package (a pip-only environment needs `- python` and `- pip` too)"),
])
def test_each_mistake_is_one_clear_line(text, expected):
    with pytest.raises(EnvError) as caught:
        parse_environment_yml(text, "environment.yml")
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(expected), message


def test_the_source_name_is_in_the_message():
    with pytest.raises(EnvError, match=r"^binder/environment\.yml, line 1: unknown key"):
        parse_environment_yml("foo: 1\ndependencies: [a]\n", "binder/environment.yml")


def test_match_specs_are_checked_by_rattler():
    assert check_match_spec("numpy >=1.26,<2") is None
    assert check_match_spec("python=3.11") is None
    assert "version spec" in check_match_spec("numpy <>1")


def test_channel_names_become_urls():
    assert channel_urls(["conda-forge", "nodefaults"]) == ["https://conda.anaconda.org/conda-forge/"]
    assert channel_urls(["bioconda"], channel_alias="https://mirror.example.org/conda/") == [
        "https://mirror.example.org/conda/bioconda/"]
    assert channel_urls(["defaults"]) == [url + "/" for url in ANACONDA_DEFAULTS]
    assert channel_urls(["/srv/channel", "file:///srv/channel"]) == ["file:///srv/channel/"]


LOCK = """\
# comment
version: 1
metadata:
  content_hash: {linux-64: abc}
  channels: [{url: %(channel)s, used_env_vars: []}]
  platforms: [linux-64]
  sources: [environment.yml]
package:
- name: alpha
  version: '1.0'
  manager: conda
  platform: linux-64
  dependencies: {}
  url: %(channel)s/noarch/alpha-1.0-h_0.tar.bz2
  hash: {md5: 0123456789abcdef0123456789abcdef, sha256: %(alpha)s}
  category: main
  optional: false
- name: beta
  version: '1.0'
  manager: conda
  platform: linux-64
  dependencies: {alpha: <2}
  url: %(channel)s/noarch/beta-1.0-h_0.tar.bz2
  hash: {md5: fedcba9876543210fedcba9876543210, sha256: %(beta)s}
  category: main
  optional: false
"""


def test_lock_hash_is_the_package_set(tmp_path):
    values = {"channel": "https://conda.anaconda.org/conda-forge", "alpha": "a" * 64, "beta": "b" * 64}
    first = tmp_path / "first.yml"
    first.write_text(LOCK % values)
    # Another mirror, other comments and metadata, packages in another order: same set.
    moved = (LOCK % {**values, "channel": "https://mirror.example.org/conda-forge"})
    moved = moved.replace("# comment", "# another comment").replace("abc", "def")
    head, _, packages = moved.partition("package:\n")
    alpha, _, beta = packages.partition("- name: beta")
    second = tmp_path / "second.yml"
    second.write_text(f"{head}package:\n- name: beta{beta}{alpha}")
    assert lock_hash(first) == lock_hash(second)
    assert len(lock_hash(first)) == 64
    changed = tmp_path / "changed.yml"
    changed.write_text(LOCK % {**values, "beta": "c" * 64})
    assert lock_hash(changed) != lock_hash(first)


def test_lock_hash_errors_are_one_line(tmp_path):
    with pytest.raises(EnvError, match="no such lock file"):
        lock_hash(tmp_path / "missing.yml")
    (tmp_path / "bad.yml").write_text("version: 1\npackage: 3\n")
    with pytest.raises(EnvError, match=r"bad\.yml: not a valid conda-lock\.yml") as caught:
        lock_hash(tmp_path / "bad.yml")
    assert "\n" not in str(caught.value)


def test_importing_the_conda_modules_stays_light():
    # The CLI imports hubstead.envs.*; rattler (80 MB) and conda-lock (pydantic, 0.5 s)
    # load only when an environment is actually solved, locked or installed.
    import subprocess
    import sys

    code = ("import sys, hubstead.envs.conda; "
            "print(sorted(m for m in ('rattler', 'conda_lock', 'pydantic', 'ruamel.yaml') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={"PYTHONPATH": "installer", "PATH": "/usr/bin:/bin"},
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"
