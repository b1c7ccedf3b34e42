"""One base for expected failures (hubstead.errors): what each front end catches once."""

from __future__ import annotations

import pytest

from hubstead.builder import BuilderError
from hubstead.cli import expected_errors
from hubstead.config import ConfigError
from hubstead.envs import EnvError
from hubstead.errors import HubsteadError
from hubstead.hubapi import HubAPIError, HubUnavailable
from hubstead.install import InstallError
from hubstead.logs import LogsError
from hubstead.users import UserError


@pytest.mark.parametrize("error", [ConfigError("x"), EnvError("x"), BuilderError("x"), UserError("x"),
                                   InstallError("x"), LogsError("x"), HubUnavailable("x"),
                                   HubAPIError(404, "x")])
def test_every_expected_failure_is_a_hubstead_error_the_cli_prints_as_one_line(error):
    assert isinstance(error, HubsteadError)
    assert isinstance(error, expected_errors())


def test_a_bug_is_not_an_expected_failure():
    assert not isinstance(KeyError("x"), expected_errors())
