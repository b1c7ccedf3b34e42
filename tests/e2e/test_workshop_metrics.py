"""Metrics for a scraper (issue 14): the hub's /hub/metrics and hubstead's own
/services/hubstead/metrics answer a hub API token with the read:metrics scope (one an
admin makes, as docs/admin.md says) and refuse a request without one, or with a
learner's token."""

import re

import pytest
import requests

from tests.harness.hubcli import hubstead, new_user
from tests.harness.hubclient import HubUser

pytestmark = pytest.mark.e2e

ADMIN, LEARNER = "wsmetrics-admin", "wsmetrics-learner"
PATHS = ("hub/metrics", "services/hubstead/metrics")


@pytest.fixture
def scraper_token(installed_hub):
    """A read:metrics-only token of an admin, and a learner whose server runs."""
    hub = installed_hub
    password = hubstead(hub, "user", "add", ADMIN, "--admin").stdout.strip()
    try:
        admin = HubUser(hub.url)
        admin.login(ADMIN, password)
        learner = new_user(hub, LEARNER)
        learner.start_server(timeout=120)
        yield admin.create_token("prometheus", scopes=["read:metrics"]), learner
    finally:
        for name in (LEARNER, ADMIN):
            hubstead(hub, "user", "remove", name, "--purge", "--yes", check=False)


def scrape(hub, path, token=None):
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(f"{hub.url}/{path}", headers=headers, timeout=30, allow_redirects=False)


def test_both_metrics_answer_a_read_metrics_token_and_refuse_without(installed_hub, scraper_token):
    hub = installed_hub
    token, learner = scraper_token
    for path in PATHS:
        assert scrape(hub, path).status_code == 403, f"{path} without a token"
        assert scrape(hub, path, learner.token).status_code == 403, f"{path} with a learner's token"
    hubs = scrape(hub, PATHS[0], token)
    assert hubs.status_code == 200 and "jupyterhub_running_servers" in hubs.text
    ours = scrape(hub, PATHS[1], token)
    assert ours.status_code == 200, ours.text[:300]
    assert ours.headers["Content-Type"].startswith("text/plain")
    running = re.search(r'^hubstead_running_servers\{environment="default"\} (\S+)$', ours.text, re.M)
    assert running and float(running.group(1)) >= 1, ours.text[:500]
    free = re.search(r'^hubstead_disk_free_bytes\{path="/home"\} (\S+)$', ours.text, re.M)
    assert free and float(free.group(1)) > 0, ours.text[:500]
    assert "# TYPE hubstead_builds gauge" in ours.text
