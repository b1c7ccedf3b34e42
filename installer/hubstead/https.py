"""HTTPS in front of the hub: Caddy's configuration, and the checks that come first.

When `https.enabled`, Caddy (Debian's package, 2.6) answers on https.port and redirects
plain HTTP on http.port to it, and configurable-http-proxy listens on
127.0.0.1:internal.proxy_port only, behind Caddy. The certificate comes from Caddy's
own local authority (`https.self_signed`), from the operator's files (`https.tls.*`),
or from Let's Encrypt (otherwise).

Everything here is a pure function of the effective settings, except `check_https`
with `applying=True`, which reads the certificate files when the config is applied.
"""

import ipaddress
import os

# Debian's caddy.service runs Caddy as the user `caddy`, whose home this is. The admin
# API goes on a socket only that user can open: on the default localhost:2019 any local
# user (every learner with a terminal) could rewrite Caddy's configuration.
ADMIN_SOCKET = "/var/lib/caddy/admin.sock"
# Copies of https.tls.cert/key that Caddy can read: the originals are usually readable
# by root only. The role copies them; the Caddyfile names the copies.
TLS_DIR = "/etc/caddy/hubstead"
TLS_CERT_COPY = f"{TLS_DIR}/cert.pem"
TLS_KEY_COPY = f"{TLS_DIR}/key.pem"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
# Caddy's internal authority issues a certificate for whatever name a client asks for
# when no domain is configured; this bounds how fast anyone can make it mint them.
ON_DEMAND_INTERVAL = "1m"
ON_DEMAND_BURST = 10


def domains(settings):
    """The hub's DNS names: https.domains, then TLJH's https.letsencrypt.domains."""
    https = settings["https"]
    return list(dict.fromkeys(https["domains"] + https["letsencrypt"]["domains"]))


def certificate_source(settings):
    """Where the certificate comes from: 'self_signed', 'own' or 'letsencrypt'."""
    https = settings["https"]
    if https["self_signed"]:
        return "self_signed"
    if https["tls"]["cert"]:
        return "own"
    return "letsencrypt"


def site_addresses(settings):
    """Caddy's site addresses: one per domain on https.port, or any name when none."""
    port = settings["https"]["port"]
    names = domains(settings)
    return [f"https://{name}:{port}" for name in names] or [f"https://:{port}"]


def caddyfile(settings):
    """The Caddyfile for these settings (https.enabled assumed; check_https passed)."""
    https = settings["https"]
    source = certificate_source(settings)
    port, http_port = https["port"], settings["http"]["port"]
    options = [
        f"admin unix/{ADMIN_SOCKET}",
        f"http_port {http_port}",
        f"https_port {port}",
        # Caddy's own redirects answer only the configured names; the site below
        # redirects every name, IP addresses included.
        "auto_https disable_redirects",
    ]
    if source == "letsencrypt":
        if https["letsencrypt"]["email"]:
            options.append(f"email {https['letsencrypt']['email']}")
        if https["letsencrypt"]["staging"]:
            options.append(f"acme_ca {LETSENCRYPT_STAGING}")
    if source == "self_signed":
        # Caddy runs unprivileged and cannot add its root to the system's trust
        # store; trying only fills the journal with errors.
        options.append("skip_install_trust")
        if not domains(settings):
            options.append(f"on_demand_tls {{\n\t\tinterval {ON_DEMAND_INTERVAL}\n"
                           f"\t\tburst {ON_DEMAND_BURST}\n\t}}")
    site = []
    if source == "self_signed":
        on_demand = not domains(settings)
        site.append("tls internal {\n\t\ton_demand\n\t}" if on_demand else "tls internal")
    elif source == "own":
        site.append(f"tls {TLS_CERT_COPY} {TLS_KEY_COPY}")
    # reverse_proxy passes websockets (kernels, terminals) through as they are, keeps
    # the Host header and sets X-Forwarded-For/-Proto, so the hub sees HTTPS.
    site.append(f"reverse_proxy 127.0.0.1:{settings['internal']['proxy_port']}")
    target = "https://{host}" + ("" if port == 443 else f":{port}") + "{uri}"
    # http.address / https.address: listen on that address only (empty: every address).
    if https["address"]:
        site.insert(0, f"bind {https['address']}")
    redirect = [f"redir {target} 308"]
    if settings["http"]["address"]:
        redirect.insert(0, f"bind {settings['http']['address']}")
    return "\n".join([
        "# Managed by Hubstead from /etc/hubstead/config.yaml (https.*); edit that instead",
        "# and run `hubstead config reload`.",
        _block("", options),
        "",
        _block(", ".join(site_addresses(settings)), site),
        "",
        # 308, not 301: a POST (a login form) stays a POST after the redirect.
        _block(f"http://:{http_port}", redirect),
        "",
    ])


def _block(address, lines):
    head = f"{address} {{" if address else "{"
    return "\n".join([head] + [f"\t{line}" for line in lines] + ["}"])


def tls_files(settings):
    """The operator's certificate and key with the paths of their copies for Caddy:
    [{src, dest, mode}], empty unless https.tls.* is in use."""
    if not settings["https"]["enabled"] or certificate_source(settings) != "own":
        return []
    tls = settings["https"]["tls"]
    return [{"src": tls["cert"], "dest": TLS_CERT_COPY, "mode": "0644"},
            {"src": tls["key"], "dest": TLS_KEY_COPY, "mode": "0640"}]


def public_url(settings, host):
    """The URL users open: https://FIRST-DOMAIN[:port] with HTTPS and a domain, else on
    `host` (an address of this machine; "" leaves the host out, as bind_url does)."""
    https = settings["https"]
    if https["enabled"]:
        scheme, port, usual = "https", https["port"], 443
        host = domains(settings)[0] if domains(settings) else host
    else:
        scheme, port, usual = "http", settings["http"]["port"], 80
    if ":" in host:
        host = f"[{host}]"
    # base_url without its last slash: callers append /hub/..., /v2/...
    prefix = settings.get("base_url", "/").rstrip("/")
    prefix = "/" + prefix.lstrip("/") if prefix else ""
    # With no host, the port is all the URL says; keep it even when it is the usual one.
    return (f"{scheme}://{host}" if port == usual and host else f"{scheme}://{host}:{port}") + prefix


def bind_url(settings):
    """JupyterHub's bind_url: the public URL as the hub should believe it."""
    return public_url(settings, "")


def check_https(settings, applying=False):
    """The one-line problem with the https.* settings, or None when they can work.

    Without `applying` (each config change) it refuses only what one-key-at-a-time
    edits never need to pass through, so `hubstead config set` can still get from any
    valid state to any other (a certificate is set before its key, say). With
    `applying` (install, reload) it checks the rest, the certificate files included."""
    https = settings["https"]
    tls = https["tls"]
    for name in ("cert", "key"):
        if tls[name] and not os.path.isabs(tls[name]):
            return f"https.tls.{name}: {tls[name]!r} is not an absolute path"
    if not https["enabled"]:
        return None
    problem = _port_clash(settings)
    if problem or not applying:
        return problem
    # Only when applying: TLJH's instructions turn HTTPS on first, then name the domain.
    if not domains(settings) and not https["self_signed"] and not tls["cert"]:
        return ("https.enabled: HTTPS needs the hub's DNS name in https.domains (hubstead config "
                "add-item https.domains hub.example.org), your own https.tls.cert and key, "
                "or https.self_signed true")
    if tls["cert"] and not tls["key"]:
        return "https.tls.key: https.tls.cert is set, so its private key must be set too"
    if tls["key"] and not tls["cert"]:
        return "https.tls.cert: https.tls.key is set, so the certificate must be set too"
    if https["self_signed"] and tls["cert"]:
        return ("https.self_signed: true conflicts with https.tls.cert; use your own "
                "certificate or Caddy's local one (set https.self_signed false), not both")
    source = certificate_source(settings)
    if source == "letsencrypt":
        for name in domains(settings):
            if not _public_name(name):
                return (f"https.domains: Let's Encrypt cannot certify {name!r}, which is not a "
                        "public DNS name; use the hub's full name, https.tls.cert/key, or "
                        "https.self_signed true")
    if source == "own":
        return _file_problem("https.tls.cert", tls["cert"], "CERTIFICATE-----") or \
            _file_problem("https.tls.key", tls["key"], "PRIVATE KEY-----")
    return None


def _port_clash(settings):
    """Caddy takes http.port and https.port; the proxy moves to internal.proxy_port."""
    https_port = settings["https"]["port"]
    proxy_port = settings["internal"]["proxy_port"]
    others = [("http.port", settings["http"]["port"]),
              ("internal.hub_port", settings["internal"]["hub_port"]),
              ("internal.proxy_api_port", settings["internal"]["proxy_api_port"])]
    for key, port in others + [("internal.proxy_port", proxy_port)]:
        if port == https_port:
            return f"https.port: {https_port} is also {key}; HTTPS needs a port of its own"
    for key, port in others:
        if port == proxy_port:
            return (f"internal.proxy_port: {proxy_port} is also {key}; with HTTPS on, the "
                    "proxy needs a port of its own behind Caddy")
    return None


def _public_name(name):
    """Whether an ACME authority could certify `name`: dotted, not an IP address."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return "." in name.strip(".") and name.lower() != "localhost"
    return False


def _file_problem(key, path, marker):
    try:
        with open(path, "rb") as handle:
            text = handle.read(1 << 20)
    except FileNotFoundError:
        return f"{key}: {path} does not exist"
    except IsADirectoryError:
        return f"{key}: {path} is a directory, not a PEM file"
    except OSError as error:
        return f"{key}: cannot read {path}: {error.strerror}"
    if marker.encode() not in text:
        return f"{key}: {path} holds no PEM {marker.rstrip('-').lower()}"
    return None
