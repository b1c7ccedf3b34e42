"""Config files and values that would silently reset or break the hub are refused with
one line, and the file stays as it was (issue 17, item 10)."""

import pytest

from hubstead import config, paths
from hubstead.envs import mark_complete
from tests.harness.hubcli import run_in_process

pytestmark = pytest.mark.unit

GOOD = "users:\n  admin:\n    - alice\nhttp:\n  port: 8080\n"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "config.yaml"


@pytest.fixture
def cfg(path):
    return lambda *args: run_in_process("config", "--config", str(path), *args)


@pytest.fixture
def envs_dir(tmp_path, monkeypatch):
    """An environments directory holding one complete environment, `course`."""
    root = tmp_path / "envs"
    (root / "course" / "b1").mkdir(parents=True)
    mark_complete(root / "course" / "b1")
    (root / "course" / "current").symlink_to("b1")
    monkeypatch.setattr(paths, "ENVS_DIR", root)
    return root


def one_error_line(done):
    assert done.code == 1, done
    lines = done.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.err
    assert "Traceback" not in done.err
    return lines[0]


@pytest.mark.parametrize("text", ["", "\n\n", "# every setting was here\n", "~\n", "null\n"])
def test_an_empty_file_is_refused_not_read_as_every_default(cfg, path, text):
    path.write_text(text)
    line = one_error_line(cfg("validate"))
    assert f"{path} is empty" in line and "config.yaml.prev" in line
    with pytest.raises(config.ConfigError, match="is empty"):
        config.load(path)
    one_error_line(cfg("set", "limits.memory", "1G"))
    assert path.read_text() == text, "nothing written"


@pytest.mark.parametrize("text, kind", [("- alice\n- bob\n", "a list"), ("hello\n", "the text 'hello'"),
                                        ("80\n", "the value 80"), ("true\n", "the value true")])
def test_a_file_that_is_not_a_mapping_is_refused_saying_what_it_holds(cfg, path, text, kind):
    path.write_text(text)
    line = one_error_line(cfg("validate"))
    assert line == f"error: {path} must hold a mapping of keys, not {kind}"
    one_error_line(cfg("set", "http.port", "8080"))
    assert path.read_text() == text


def test_an_absent_file_still_means_every_default(cfg, path):
    assert config.load(path) == {}
    assert cfg("set", "limits.memory", "1G").code == 0


@pytest.mark.parametrize("key, port", [("hub_port", 8081), ("proxy_api_port", 8001), ("web_port", 8082)])
def test_http_port_may_not_be_an_internal_port(cfg, path, key, port):
    path.write_text(GOOD)
    line = one_error_line(cfg("set", "http.port", str(port)))
    assert line == (f"error: http.port: {port} is internal.{key}, a port the hub uses itself; "
                    "choose another")
    assert path.read_text() == GOOD
    # The other way round too: moving an internal port onto the public one.
    assert "a port the hub uses itself" in one_error_line(cfg("set", f"internal.{key}", "8080"))
    assert path.read_text() == GOOD


def test_port_clashes_in_the_file_itself_are_refused_by_validate(cfg, path):
    path.write_text("http:\n  port: 9000\ninternal:\n  hub_port: 9000\n")
    assert "http.port: 9000 is internal.hub_port" in one_error_line(cfg("validate"))


def test_proxy_port_counts_only_behind_https():
    # Without HTTPS the proxy itself listens on http.port; internal.proxy_port is unused.
    config.validate({"http": {"port": 8000}})
    with pytest.raises(config.ConfigError, match="https.port: 8082 is internal.web_port"):
        config.validate({"https": {"enabled": True, "port": 8082, "self_signed": True,
                                   "domains": ["hub.example.org"]}})


def test_default_env_must_name_an_environment(cfg, path, envs_dir):
    path.write_text(GOOD)
    line = one_error_line(cfg("set", "user_environment.default_env", "nosuch"))
    assert line == ("error: user_environment.default_env: there is no environment 'nosuch'; "
                    "see `hubstead env list`")
    assert path.read_text() == GOOD
    done = cfg("set", "user_environment.default_env", "course")
    assert done.code == 0, done.err
    assert config.load(path)["user_environment"]["default_env"] == "course"
    # The installer builds `default` itself, so naming it is always fine.
    assert cfg("set", "user_environment.default_env", "default").code == 0


def test_validate_reports_a_default_env_that_is_gone(cfg, path, envs_dir):
    path.write_text(GOOD + "user_environment:\n  default_env: removed-one\n")
    assert "there is no environment 'removed-one'" in one_error_line(cfg("validate"))
    # The hub itself still starts (hubconfig validates without this check).
    assert config.validate(config.load(path))
