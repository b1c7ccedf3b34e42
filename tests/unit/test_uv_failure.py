"""What an environment build says when uv fails: uv's own last lines, or, when uv said
nothing (killed, or an exit without a word), how it ended, never an empty reason."""

import subprocess

import pytest

from hubstead.envs import EnvError, pypi


def ended(returncode, stderr="", stdout=""):
    return subprocess.CompletedProcess(["uv"], returncode, stdout, stderr)


def test_uvs_last_lines_are_the_reason():
    said = "\n".join(f"line {number}" for number in range(12))
    assert pypi.uv_failure(ended(2, stderr=said)) == "\n".join(f"line {number}" for number in range(4, 12))


def test_a_uv_killed_by_a_signal_is_named_so():
    assert pypi.uv_failure(ended(-9)) == "uv was stopped by signal SIGKILL"


def test_a_silent_failure_gives_its_status():
    assert pypi.uv_failure(ended(1)) == "uv exited with status 1 without saying why"


def test_stdout_stands_in_when_stderr_is_empty():
    assert pypi.uv_failure(ended(1, stdout="error: out of space\n")) == "error: out of space"


def test_a_real_failing_uv_reaches_the_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pypi, "uv_binary", lambda: "false")
    with pytest.raises(EnvError, match="Installing x failed:\nuv exited with status 1 without saying why"):
        pypi.run_uv(["pip", "install"], "Installing x")
