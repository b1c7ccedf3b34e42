"""R from Debian installs Debian packages a repository names: binder.apt.enabled false
must refuse them as it refuses apt.txt, before apt is asked anything."""

import pytest

from hubstead.builder import BuilderError, run
from hubstead.builder.repofiles import read_repo


def test_install_r_is_refused_when_the_hub_installs_no_debian_packages(tmp_path, monkeypatch):
    (tmp_path / "install.R").write_text("install.packages('digest')\n")
    config = read_repo(tmp_path)
    asked = []
    monkeypatch.setattr(run.subprocess, "run", lambda *args, **kwargs: asked.append(args))
    with pytest.raises(BuilderError, match=r"binder.apt.enabled is false"):
        run.install_r(config, {"binder": {"apt": {"enabled": False}}})
    assert asked == [], "neither apt-cache nor apt-get ran"
