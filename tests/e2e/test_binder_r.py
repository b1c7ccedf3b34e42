"""An R repository built from Debian's R and r-cran-* packages, launched and run.

repo2docker installs R from Posit's packages and install.R's packages from a dated CRAN
snapshot; this network reaches neither (CRAN is refused at once here), which is the
case this feature is for. The repository is repo2docker's r/r-rspm-apt-file test
repository in spirit (a date-only R runtime, install.R asking for digest, apt.txt asking
for libsodium-dev); the port of that repository lives with the others in
test_repo2docker_repos.py. Served by git's smart HTTP on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from tests.harness.hubcli import hubstead, new_user, serving_repositories
from tests.harness.launchclient import LaunchSession
from tests.harness.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

FILES = {"runtime.txt": "r-2025-07-01\n", "apt.txt": "libsodium-dev\n",
         "install.R": "# what the course uses\ninstall.packages(\"digest\", repos = \"https://cran.r-project.org\")\n",
         "analysis.R": "library(digest)\ncat(digest('hubstead', algo = 'md5', serialize = FALSE), '\\n')\n"}
MD5 = "a8295e951b77a217aab92a73fac358ae"  # of the bytes "hubstead"
GITHUB_ONLY = {"install.R": "devtools::install_github('someone/package')\n"}
LINK = "v2/gh/owner/r-course/main"


@pytest.fixture(scope="module")
def hub(installed_hub, tmp_path_factory):
    repositories = {"r-course": FILES, "r-github": GITHUB_ONLY}
    with serving_repositories(installed_hub, tmp_path_factory, repositories, users=["rosa"]):
        yield installed_hub


@pytest.fixture(scope="module")
def launched(hub):
    user = new_user(hub, "rosa")
    hubstead(hub, "group", "add-user", "instructors", "rosa")
    session = LaunchSession(user)
    result = session.launch(session.open(LINK))
    session.pull(result.redirect)
    return session, result


def test_the_build_says_it_uses_debians_r_and_packages(launched):
    _, result = launched
    assert "read install.R: its packages installed from Debian: r-cran-digest" in result.log, result.log[-3000:]
    assert "read runtime.txt: Debian's R (the snapshot date 2025-07-01 is not used)" in result.log
    assert "registering R's Jupyter kernel (IRkernel) in the environment" in result.log


def test_the_r_kernel_runs_the_packages_install_r_asked_for(launched):
    session, _ = launched
    printed = session.user.run_code("library(digest); cat(digest('hubstead', algo = 'md5', serialize = FALSE))",
                                    kernel="ir", timeout=120)
    assert printed.strip() == MD5


def test_the_repositorys_script_and_apt_txt_work_in_a_terminal(launched):
    session, _ = launched
    status, shown = run_in_terminal(session.user, "cd $REPO_DIR && Rscript analysis.R && dpkg -s libsodium-dev "
                                                  "| grep -c '^Status: install ok installed'", timeout=90)
    assert status == 0, shown
    assert MD5 in shown and shown.strip().splitlines()[-1].strip() == "1", shown


def test_an_install_r_that_needs_cran_is_refused_naming_the_line(hub):
    result = hubstead(hub, "build", "gh/owner/r-github/main", check=False)
    assert result.returncode != 0
    assert ("install.R line 1: \"devtools::install_github('someone/package')\": only install.packages() of "
            "packages Debian ships can be built here (CRAN is not used)") in result.stdout + result.stderr
