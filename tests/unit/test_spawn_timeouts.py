"""The hub's spawn timeouts fit a class logging in at once on a small machine (issue 14).

Not measured here: benchmarks/workshop.py measures the starts, and docs/sizing.md has
the numbers these follow (about 5 CPU seconds a learner's start; 1.5x the floor measured).
"""

from traitlets.config import Config

from hubstead import config

from hubstead.hub import hubconfig

CPU_SECONDS_PER_START = 5  # docs/sizing.md
MEASURED_OVER_FLOOR = 1.5  # p95 / floor at 50 learners on 2 cores (docs/sizing.md)


def rendered_spawner():
    c = Config()
    hubconfig.configure_spawner(c, config.effective({}))
    return c.Spawner


def test_a_class_of_100_on_2_cores_gets_in_before_the_hub_gives_up():
    floor = 100 * CPU_SECONDS_PER_START / 2
    spawner = rendered_spawner()
    assert spawner.start_timeout >= floor * MEASURED_OVER_FLOOR, spawner.start_timeout


def test_a_restarted_hub_waits_as_long_for_a_server_still_starting():
    """http_timeout is what a restarted hub gives a server it adopts mid-start."""
    spawner = rendered_spawner()
    assert spawner.http_timeout >= spawner.start_timeout


def test_a_launch_link_waits_longer_than_the_hub_so_the_hub_says_why():
    """The launch flow's own "did not start" message comes only after the hub's."""
    from hubstead.builder import launch_flow

    assert launch_flow.START_TIMEOUT > rendered_spawner().start_timeout
