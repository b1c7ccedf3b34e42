"""A build's `apt-get update` while another apt-get holds the package lists' lock waits
and tries again, instead of failing the build at once (CI saw "Could not get lock
/var/lib/apt/lists/lock. It is held by process 2005 (apt-get)"). A stand-in apt-get
script plays the other holder: apt-get itself needs root and the network."""

import os

from hubstead.builder import run


def test_a_held_lists_lock_is_waited_for(tmp_path):
    tries = tmp_path / "tries"
    fake = tmp_path / "apt-get"
    fake.write_text("#!/bin/sh\necho x >> \"$1\"\n"
                    "[ $(wc -l < \"$1\") -ge 3 ] && { echo done; exit 0; }\n"
                    "echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7 (apt-get)'; exit 100\n")
    fake.chmod(0o755)
    result = run._apt_waiting_for_lists([str(fake), str(tries)], dict(os.environ), pause=0.01)
    assert result.returncode == 0 and result.stdout.strip() == "done"
    assert len(tries.read_text().splitlines()) == 3


def test_another_failure_is_not_retried(tmp_path):
    tries = tmp_path / "tries"
    fake = tmp_path / "apt-get"
    fake.write_text("#!/bin/sh\necho x >> \"$1\"\necho 'E: Unable to locate package nope'; exit 100\n")
    fake.chmod(0o755)
    result = run._apt_waiting_for_lists([str(fake), str(tries)], dict(os.environ), pause=0.01)
    assert result.returncode == 100 and len(tries.read_text().splitlines()) == 1
