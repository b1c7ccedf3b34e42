"""The instructors' page's pure parts: who gets "Instructor" in the hub's navigation bar,
and which links the QR-code route refuses (the QR code itself is drawn by segno, which
only the hub's venv has: tests/browser/test_instructor_page.py sees it on the page)."""

import re
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from hubstead import config, qrcodes

from hubstead.hub import hubconfig


def hub_user(admin=False, groups=()):
    """What JupyterHub passes a callable template variable: its User, whose groups are ORM rows."""
    return SimpleNamespace(admin=admin, groups=[SimpleNamespace(name=name) for name in groups])


@pytest.fixture
def hub_config(tmp_path, monkeypatch):
    from hubstead import paths

    monkeypatch.setattr(paths, "STATE_DIR", tmp_path)
    (tmp_path / "hubstead-api-token").write_text("secret-token\n")
    c = Config()
    hubconfig.configure_services(c, config.effective({"base_url": "/course/"}))
    return c


def test_admins_and_instructors_get_the_instructor_link_and_learners_do_not(hub_config):
    link = hub_config.JupyterHub.template_vars["hubstead_instructor_url"]
    assert link(hub_user(admin=True)) == "/course/services/hubstead/"
    assert link(hub_user(groups=["cohort-a", "instructors"])) == "/course/services/hubstead/"
    assert link(hub_user(groups=["cohort-a"])) is None
    assert link(None) is None  # the login page: nobody logged in


def test_the_hub_pages_template_adds_the_link_to_the_hubs_own_page(hub_config):
    (directory,) = hub_config.JupyterHub.template_paths
    template = (hubconfig.HUB_TEMPLATES / "page.html").read_text()
    assert directory == str(hubconfig.HUB_TEMPLATES)
    assert '{% extends "templates/page.html" %}' in template and "{{ super() }}" in template
    assert 'href="{{ hubstead_instructor_url }}">Instructor</a>' in template


@pytest.mark.parametrize("url, message", [
    ("", "give the link to encode"),
    ("javascript:alert(1)", "is not an http(s) link"),
    ("https://" + "x" * 2000, "a QR code takes at most 2000"),
])
def test_a_qr_code_is_refused_for_what_is_not_a_short_web_link(url, message):
    with pytest.raises(qrcodes.QRCodeError, match=re.escape(message)):
        qrcodes.link_svg(url)
