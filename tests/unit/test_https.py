"""hubstead.https: the Caddyfile in each certificate mode, and the refusals that come first.

Let's Encrypt cannot be reached from the test machines, so its mode is covered here, by
the rendered Caddyfile (and `caddy validate` in the e2e tests' other modes)."""

import os

import pytest
from click.testing import CliRunner

from hubstead import config, https
from hubstead.cli import main

DOMAIN = {"enabled": True, "domains": ["hub.example.org"]}


def settings(https_settings=None, **sections):
    return config.effective({"https": https_settings or {}, **sections})


def site_lines(text, address):
    """The lines of the site block that starts with `address`, without tabs."""
    block = text.split(f"\n{address} {{\n", 1)[1].split("\n}", 1)[0]
    return [line.strip() for line in block.splitlines()]


def global_options(text):
    block = text.split("\n{\n", 1)[1].split("\n}\n", 1)[0]
    return [line.strip() for line in block.splitlines()]


# -- caddyfile() -------------------------------------------------------------------------

def test_self_signed_uses_caddys_local_authority_for_the_domains():
    text = https.caddyfile(settings({"enabled": True, "self_signed": True, "domains": ["hub.test"],
                                     "port": 8443}, http={"port": 8080},
                                    internal={"proxy_port": 9000}))
    assert site_lines(text, "https://hub.test:8443") == ["tls internal",
                                                         "reverse_proxy 127.0.0.1:9000"]
    options = global_options(text)
    assert "admin unix//var/lib/caddy/admin.sock" in options
    assert {"http_port 8080", "https_port 8443", "auto_https disable_redirects",
            "skip_install_trust"} <= set(options)
    assert not any(line.startswith(("email", "acme_ca", "on_demand")) for line in options)
    assert site_lines(text, "http://:8080") == ["redir https://{host}:8443{uri} 308"]


def test_self_signed_without_a_domain_answers_any_name_at_a_bounded_rate():
    text = https.caddyfile(settings({"enabled": True, "self_signed": True}))
    assert site_lines(text, "https://:443") == ["tls internal {", "on_demand", "}",
                                                "reverse_proxy 127.0.0.1:8000"]
    options = global_options(text)
    assert options[options.index("on_demand_tls {") + 1:][:2] == ["interval 1m", "burst 10"]


def test_own_certificate_is_read_from_the_copies_caddy_can_read():
    tls = {"cert": "/etc/ssl/hub.pem", "key": "/etc/ssl/private/hub.key"}
    current = settings({**DOMAIN, "tls": tls})
    text = https.caddyfile(current)
    assert site_lines(text, "https://hub.example.org:443") == [
        f"tls {https.TLS_CERT_COPY} {https.TLS_KEY_COPY}", "reverse_proxy 127.0.0.1:8000"]
    assert "skip_install_trust" not in global_options(text)
    assert https.tls_files(current) == [
        {"src": "/etc/ssl/hub.pem", "dest": https.TLS_CERT_COPY, "mode": "0644"},
        {"src": "/etc/ssl/private/hub.key", "dest": https.TLS_KEY_COPY, "mode": "0640"}]
    assert all(copy["dest"].startswith(https.TLS_DIR + "/") for copy in https.tls_files(current))


def test_tls_files_are_copied_only_while_https_uses_them():
    tls = {"cert": "/etc/ssl/hub.pem", "key": "/etc/ssl/hub.key"}
    assert https.tls_files(settings({"domains": ["hub.example.org"], "tls": tls})) == []
    assert https.tls_files(settings(DOMAIN)) == []


def test_letsencrypt_with_an_email_on_the_standard_ports():
    text = https.caddyfile(settings({**DOMAIN, "domains": ["hub.example.org", "www.example.org"],
                                     "letsencrypt": {"email": "ops@example.org"}}))
    address = "https://hub.example.org:443, https://www.example.org:443"
    assert site_lines(text, address) == ["reverse_proxy 127.0.0.1:8000"], "no tls line: ACME"
    options = global_options(text)
    assert "email ops@example.org" in options
    assert not any(line.startswith(("acme_ca", "skip_install_trust", "on_demand"))
                   for line in options)
    # Port 443 is left out of the redirect, as a browser would.
    assert site_lines(text, "http://:80") == ["redir https://{host}{uri} 308"]


def test_letsencrypt_staging_and_no_email():
    text = https.caddyfile(settings({**DOMAIN, "letsencrypt": {"staging": True}}))
    options = global_options(text)
    assert f"acme_ca {https.LETSENCRYPT_STAGING}" in options
    assert not any(line.startswith("email") for line in options)


def test_the_caddyfile_says_who_manages_it_and_indents_with_tabs():
    text = https.caddyfile(settings(DOMAIN))
    assert text.startswith("# Managed by Hubstead")
    assert text.endswith("}\n")
    assert all(not line.startswith(" ") for line in text.splitlines())


# -- the public URL ------------------------------------------------------------------

@pytest.mark.parametrize("https_settings, http_port, expected", [
    ({}, 80, "http://:80"),
    ({}, 8080, "http://:8080"),
    (DOMAIN, 80, "https://hub.example.org"),
    ({**DOMAIN, "port": 8443}, 80, "https://hub.example.org:8443"),
    ({"enabled": True, "self_signed": True}, 80, "https://:443"),
])
def test_bind_url_follows_https(https_settings, http_port, expected):
    assert https.bind_url(settings(https_settings, http={"port": http_port})) == expected


def test_public_url_brackets_an_ipv6_address():
    assert https.public_url(settings({"enabled": True, "self_signed": True, "port": 8443}),
                            "2001:db8::7") == "https://[2001:db8::7]:8443"


# -- check_https() -------------------------------------------------------------------------

@pytest.mark.parametrize("https_settings, sections, key", [
    ({"tls": {"cert": "hub.pem", "key": "/etc/ssl/hub.key"}}, {}, "https.tls.cert"),
    ({**DOMAIN, "port": 80}, {}, "https.port"),
    ({**DOMAIN, "port": 8080}, {"http": {"port": 8080}}, "https.port"),
    ({**DOMAIN, "port": 8000}, {}, "https.port"),
    ({**DOMAIN, "port": 8081}, {}, "https.port"),
    (DOMAIN, {"http": {"port": 8000}}, "internal.proxy_port"),
    (DOMAIN, {"internal": {"proxy_port": 8081}}, "internal.proxy_port"),
])
def test_config_changes_that_cannot_work_are_refused_naming_the_key(https_settings, sections, key):
    problem = https.check_https(settings(https_settings, **sections))
    assert problem and problem.startswith(f"{key}: ")
    assert "\n" not in problem


@pytest.mark.parametrize("https_settings, key", [
    ({**DOMAIN, "tls": {"cert": "/etc/ssl/hub.pem"}}, "https.tls.key"),
    ({**DOMAIN, "tls": {"key": "/etc/ssl/hub.key"}}, "https.tls.cert"),
    ({**DOMAIN, "self_signed": True, "tls": {"cert": "/a.pem", "key": "/a.key"}},
     "https.self_signed"),
    ({"enabled": True, "domains": ["hub"]}, "https.domains"),
    ({"enabled": True, "domains": ["localhost"]}, "https.domains"),
    ({"enabled": True, "domains": ["10.0.0.7"]}, "https.domains"),
    # TLJH's instructions turn HTTPS on first, then name the domain (issue 10).
    ({"enabled": True}, "https.enabled"),
    ({"enabled": True, "letsencrypt": {"email": "ops@example.org"}}, "https.enabled"),
    ({"enabled": True, "letsencrypt": {"domains": ["hub"]}}, "https.domains"),
])
def test_what_config_set_must_pass_through_is_refused_when_applied(https_settings, key):
    current = settings(https_settings)
    assert https.check_https(current) is None, "one key at a time, this state comes on the way"
    problem = https.check_https(current, applying=True)
    assert problem and problem.startswith(f"{key}: ")
    assert "\n" not in problem


@pytest.mark.parametrize("https_settings", [
    {},
    {"port": 80},  # HTTPS off: its port is unused
    {"tls": {"cert": "/etc/ssl/hub.pem"}},  # HTTPS off: nothing reads it
    {"enabled": True, "self_signed": True},
    {"enabled": True, "self_signed": True, "domains": ["hub"]},  # Caddy's own CA certifies any name
    DOMAIN,
    {"enabled": True, "letsencrypt": {"domains": ["hub.example.org"]}},  # TLJH's key for the names
])
def test_combinations_that_work_pass(https_settings):
    assert https.check_https(settings(https_settings), applying=True) is None


def test_certificate_files_are_checked_when_applied(tmp_path):
    cert, key = tmp_path / "hub.crt", tmp_path / "hub.key"
    current = settings({**DOMAIN, "domains": ["hub.lan"],
                        "tls": {"cert": str(cert), "key": str(key)}})

    def problem():
        return https.check_https(current, applying=True)

    assert https.check_https(current) is None, "config time: the files may come later"
    assert problem() == f"https.tls.cert: {cert} does not exist"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("not a key\n")
    assert problem() == f"https.tls.key: {key} holds no PEM private key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    assert problem() is None
    key.unlink()
    key.mkdir()
    assert problem() == f"https.tls.key: {key} is a directory, not a PEM file"
    key.rmdir()
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0)
    if os.geteuid() != 0:  # root reads it anyway
        assert problem() == f"https.tls.key: cannot read {key}: Permission denied"


def test_config_validation_refuses_what_check_https_refuses():
    with pytest.raises(config.ConfigError, match=r"^https\.port: "):
        config.validate({"https": {"enabled": True, "port": 80}})
    assert config.validate({"https": {"enabled": True, "self_signed": True}})


def test_tljh_letsencrypt_domains_name_the_sites_and_the_url():
    current = settings({"enabled": True, "domains": ["a.example.org"],
                        "letsencrypt": {"domains": ["b.example.org", "a.example.org"]}})
    assert https.site_addresses(current) == ["https://a.example.org:443", "https://b.example.org:443"]
    assert https.public_url(current, "10.0.0.5") == "https://a.example.org"


def hubstead_config(path, *args):
    """`hubstead config --config PATH ARGS` in-process, as the installed command runs:
    (exit code, stdout + stderr)."""
    with CliRunner().isolation() as (out, err, _):
        try:
            main(["config", "--config", str(path), *args])
            code = 0
        except SystemExit as done:
            code = done.code
    return code, out.getvalue().decode() + err.getvalue().decode()


def test_config_set_takes_https_in_tljh_docs_order(tmp_path):
    """TLJH's HTTPS instructions turn HTTPS on first and name the domain after; `config
    reload` (check_https applying) refuses HTTPS that still has no name."""
    path = tmp_path / "config.yaml"
    path.write_text("http:\n  port: 8080\n")
    assert hubstead_config(path, "set", "https.enabled", "true")[0] == 0
    assert hubstead_config(path, "set", "https.letsencrypt.email", "you@example.com")[0] == 0
    assert hubstead_config(path, "add-item", "https.letsencrypt.domains", "hub.example.edu")[0] == 0
    assert config.load(path)["https"] == {"enabled": True, "letsencrypt": {
        "email": "you@example.com", "domains": ["hub.example.edu"]}}
    code, output = hubstead_config(path, "set", "https.port", "8080")
    assert code == 1 and output.startswith("error: https.port: ") and len(output.strip().splitlines()) == 1
