"""A repository without configuration files is valid with or without `--name`, and the
Vagrantfile's admin is a name the installer accepts (issue 17, item 16)."""

import re
from pathlib import Path

import pytest

from hubstead import paths
from hubstead.builder import fetch, pipeline, records
from hubstead.config.schema import defaults
from hubstead.usernames import username_problem
from tests.harness.hubcli import run_in_process

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
COMMIT = "c" * 40
URL = "https://git.example.org/owner/plain.git"


@pytest.fixture
def plain_repo(tmp_path, monkeypatch):
    """fetch() hands back a checkout with a notebook and a README, nothing else."""
    monkeypatch.setattr(paths, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(paths, "ENVS_DIR", tmp_path / "envs")
    (tmp_path / "state").mkdir()

    def fake_fetch(repo_url, ref, dest, **options):
        dest.mkdir(parents=True)
        (dest / "README.md").write_text("no configuration files at all\n")
        (dest / "notes.ipynb").write_text("{}\n")
        return fetch.Checkout(repo_url, ref, COMMIT, dest, True)

    monkeypatch.setattr(fetch, "fetch", fake_fetch)
    settings = defaults()
    monkeypatch.setattr(pipeline, "settings_now", lambda: settings)
    return settings


def test_a_named_build_of_a_repository_without_files_runs_in_the_default_environment(plain_repo):
    plan = pipeline.plan(URL, "main", name="course")
    assert plan.kind == "none" and plan.env == "default"
    assert plan.notes == (f"{URL} has no environment.yml or requirements.txt: it runs in the default "
                          "environment 'default', so no environment 'course' was made",)
    record = pipeline.request(plan, requested_by="root")
    assert record.succeeded and record.env == "default" and record.build is None
    # The launch link it prints finds that record, as a student's click does (no name).
    again = pipeline.plan(URL, "main")
    assert again.ready is not None and again.ready.id == record.id and again.notes == ()


def test_the_cli_succeeds_and_prints_the_launch_link(plain_repo):
    done = run_in_process("build", URL, "--ref", "main", "--name", "course")
    assert done.code == 0, done.err
    assert "error:" not in done.err
    assert "so no environment 'course' was made" in done.err
    assert done.out.splitlines()[-1].endswith(f"/v2/git/{URL.replace(':', '%3A').replace('/', '%2F')}/main")
    assert done.out.splitlines()[-1].startswith("Launch link: ")
    assert records.all_records(10)[0].env == "default"


def test_the_vagrantfile_installs_with_an_admin_name_the_installer_accepts():
    text = (REPO / "Vagrantfile").read_text()
    admins = re.findall(r"--admin[ =](\S+)", text)
    assert admins, "the Vagrantfile names an admin"
    for name in admins:
        assert username_problem(name.strip("'\"")) is None, name
    # Its comment tells the user whom to sign up as: the same name.
    assert f'sign up as "{admins[0]}"' in text
