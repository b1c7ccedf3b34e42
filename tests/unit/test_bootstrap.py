"""bootstrap.py's host checks: each refusal is one clear sentence, and nothing runs before them."""

import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_bootstrap():
    spec = importlib.util.spec_from_file_location("bootstrap", REPO / "bootstrap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap = load_bootstrap()
DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
UBUNTU_2404 = 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n'
FEDORA = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n'


def test_uses_only_the_standard_library():
    source = (REPO / "bootstrap.py").read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                if line.startswith(("import ", "from "))}
    assert imported <= {"argparse", "importlib", "os", "shutil", "ssl", "subprocess", "sys",
                        "tarfile", "tempfile", "time", "urllib"}


@pytest.mark.parametrize("text", [DEBIAN_12, UBUNTU_2404, DEBIAN_12.replace('"12"', '"13"')])
def test_supported_systems_pass(text):
    assert bootstrap.check_os(bootstrap.parse_os_release(text))


@pytest.mark.parametrize("text, named", [(FEDORA, "Fedora Linux 40"),
                                         (DEBIAN_12.replace('"12"', '"11"'), "Debian"),
                                         ("", "an unknown system")])
def test_unsupported_system_is_refused_by_name(text, named):
    with pytest.raises(bootstrap.BootstrapError) as refusal:
        bootstrap.check_os(bootstrap.parse_os_release(text))
    message = str(refusal.value)
    assert named in message and "Debian 12/13 and Ubuntu 22.04/24.04" in message
    assert "\n" not in message


def test_unsupported_system_may_be_forced():
    assert bootstrap.check_os(bootstrap.parse_os_release(FEDORA), allow_unsupported=True) == "Fedora Linux 40"


def test_os_release_parsing_handles_quotes_and_comments():
    values = bootstrap.parse_os_release("# comment\nID='ubuntu'\nVERSION_ID=\"22.04\"\n\nBROKEN\n")
    assert values == {"ID": "ubuntu", "VERSION_ID": "22.04"}


def test_not_root_is_refused_with_the_sudo_hint():
    with pytest.raises(bootstrap.BootstrapError, match="must run as root: try `sudo"):
        bootstrap.check_root(1000)
    bootstrap.check_root(0)


def test_old_python_is_refused():
    with pytest.raises(bootstrap.BootstrapError, match="Python 3.10 or newer; this python3 is 3.8.10"):
        bootstrap.check_python((3, 8, 10, "final", 0))
    bootstrap.check_python((3, 11, 2, "final", 0))


def test_machine_without_systemd_is_refused(tmp_path):
    with pytest.raises(bootstrap.BootstrapError, match="booted with systemd"):
        bootstrap.check_systemd(str(tmp_path / "absent"))
    bootstrap.check_systemd(str(tmp_path))


def test_too_little_memory_is_refused():
    with pytest.raises(bootstrap.BootstrapError, match="at least 1024 MiB of RAM; this machine has 512 MiB"):
        bootstrap.check_memory("MemTotal:         524288 kB\nMemFree: 1 kB\n")
    assert bootstrap.check_memory("MemTotal:       4194304 kB\n") == 4 << 30


def fake_statvfs(free_bytes):
    return lambda path: SimpleNamespace(f_bavail=free_bytes // 4096, f_frsize=4096)


def test_full_disk_is_refused_naming_the_place_and_the_need(tmp_path):
    with pytest.raises(bootstrap.BootstrapError) as refusal:
        bootstrap.check_disk([str(tmp_path / "opt" / "hubstead")], statvfs=fake_statvfs(200 << 20))
    message = str(refusal.value)
    assert str(tmp_path) in message and "0.2 GiB free" in message and "3 GiB needed" in message
    bootstrap.check_disk([str(tmp_path / "x")], statvfs=fake_statvfs(10 << 30))


def test_an_upgrade_needs_far_less_room_than_a_first_install(tmp_path):
    hub = tmp_path / "hub"
    assert bootstrap.disk_needed(str(hub)) == 3 << 30
    hub.mkdir()
    (hub / bootstrap.VENV_MARKER).touch()
    assert bootstrap.disk_needed(str(hub)) == 512 << 20
    with pytest.raises(bootstrap.BootstrapError, match="0.1 GiB free .* 512 MiB needed"):
        bootstrap.check_disk([str(tmp_path)], minimum=bootstrap.disk_needed(str(hub)),
                             statvfs=fake_statvfs(100 << 20))


def test_existing_parent_walks_up_to_what_exists(tmp_path):
    assert bootstrap.existing_parent(str(tmp_path / "a" / "b")) == str(tmp_path)


@pytest.mark.parametrize("name", ["Bob Smith", "root", "Alice", "1abc", "", "x" * 25])
def test_invalid_admin_names_are_refused_before_any_change(name):
    with pytest.raises(bootstrap.BootstrapError, match=f"--admin {name!r}:"):
        bootstrap.validate_admin_names([name], str(REPO))


def test_valid_admin_names_pass():
    bootstrap.validate_admin_names(["alice", "bob_smith", "c-3po"], str(REPO))


def test_admin_names_are_read_from_the_passthrough_arguments():
    options, passthrough = bootstrap.parse_args(["--admin", "alice", "--from", "/src", "--admin=bob",
                                                 "--http-port", "8080"])
    assert options.admins == ["alice", "bob"]
    assert options.source == "/src"
    assert passthrough == ["--admin", "alice", "--admin=bob", "--http-port", "8080"]


def test_site_ca_bundle_reaches_every_tool():
    env = bootstrap.network_environment({"REQUESTS_CA_BUNDLE": "/site/ca.pem", "PATH": "/usr/bin",
                                         "https_proxy": "http://proxy:3128"})
    assert env["SSL_CERT_FILE"] == env["PIP_CERT"] == env["REQUESTS_CA_BUNDLE"] == "/site/ca.pem"
    assert env["https_proxy"] == "http://proxy:3128"
    assert env["PATH"].startswith("/opt/hubstead/hub/bin:")


def test_explicit_ssl_cert_file_wins():
    env = bootstrap.network_environment({"SSL_CERT_FILE": "/a.pem", "PIP_CERT": "/b.pem"})
    assert env["SSL_CERT_FILE"] == "/a.pem" and env["PIP_CERT"] == "/b.pem"


def test_system_store_is_the_default_bundle(monkeypatch):
    monkeypatch.setattr(bootstrap.os.path, "exists", lambda path: path == bootstrap.SYSTEM_CA_BUNDLE)
    env = bootstrap.network_environment({})
    assert env["SSL_CERT_FILE"] == bootstrap.SYSTEM_CA_BUNDLE


def test_unreachable_index_is_one_clear_error():
    env = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple/", "no_proxy": "*"}
    with pytest.raises(bootstrap.BootstrapError) as refusal:
        bootstrap.check_index_reachable(env)
    assert "Cannot reach the Python package index at http://127.0.0.1:9/simple/" in str(refusal.value)
    assert "https_proxy" in str(refusal.value)


def test_source_that_is_neither_directory_nor_url_is_refused(tmp_path):
    with pytest.raises(bootstrap.BootstrapError, match="not a directory or an http"):
        bootstrap.fetch_source("no/such/dir", {}, str(tmp_path))


def test_source_archive_is_fetched_and_unpacked(tmp_path):
    import tarfile

    tree = tmp_path / "hubstead-0.1.0"
    tree.mkdir()
    (tree / "pyproject.toml").write_text("[project]\nname='hubstead'\n")
    archive = tmp_path / "src.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="hubstead-0.1.0")
    work = tmp_path / "work"
    work.mkdir()
    found = bootstrap.fetch_source(archive.as_uri(), {}, str(work))
    assert Path(found, "pyproject.toml").exists()


def test_failed_command_shows_the_log_tail(tmp_path, capsys):
    log_file = tmp_path / "bootstrap.log"
    with pytest.raises(bootstrap.BootstrapError, match=r"Listing failed \(exit 2\); the full log is in"):
        bootstrap.run(["ls", "/no/such/place"], dict(os.environ), str(log_file), "Listing")
    assert "/no/such/place" in capsys.readouterr().err


def test_main_as_non_root_exits_1_and_changes_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(bootstrap, "install_apt_packages", lambda *a: pytest.fail("apt ran"))
    assert bootstrap.main(["--admin", "alice", "--from", str(REPO)]) == 1
    assert capsys.readouterr().err.strip() == "error: bootstrap.py must run as root: try `sudo python3 bootstrap.py ...`."


def test_a_hub_venv_of_another_python_is_built_again(tmp_path, monkeypatch, capsys):
    """After a Debian release upgrade (python3 3.11 -> 3.13) the venv is made anew; the
    commands bootstrap would run are recorded instead of run (no venv is built here)."""
    prefix = tmp_path / "hub"
    prefix.mkdir()
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.9.18\n")
    (prefix / bootstrap.VENV_MARKER).write_text("")
    monkeypatch.setattr(bootstrap, "HUB_PREFIX", str(prefix))
    commands = []
    monkeypatch.setattr(bootstrap, "run", lambda command, env, log_file, what: commands.append(command))
    bootstrap.ensure_hub_venv(str(REPO), {}, str(tmp_path / "log"))
    assert commands[0][1:] == ["-m", "venv", "--clear", str(prefix)]
    assert "made with Python 3.9" in capsys.readouterr().out


def test_a_hub_venv_of_this_python_is_reused(tmp_path, monkeypatch):
    import sys

    prefix = tmp_path / "hub"
    prefix.mkdir()
    (prefix / "pyvenv.cfg").write_text(f"version = {sys.version_info[0]}.{sys.version_info[1]}.0\n")
    (prefix / bootstrap.VENV_MARKER).write_text("")
    monkeypatch.setattr(bootstrap, "HUB_PREFIX", str(prefix))
    commands = []
    monkeypatch.setattr(bootstrap, "run", lambda command, env, log_file, what: commands.append(command))
    bootstrap.ensure_hub_venv(str(REPO), {}, str(tmp_path / "log"))
    assert not [command for command in commands if "venv" in command]
    assert bootstrap.venv_python(str(tmp_path / "none")) is None
