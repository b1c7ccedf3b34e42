"""The schema of /etc/hubstead/config.yaml: every key, its type, default and meaning.

Key names follow tljh-config's where the concept is the same, so a TLJH operator's
habits carry over (`users.admin`, `limits.memory`, `http.port`, ...).
"""

SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?[KMGT]?$"
# "format": "username" is an annotation (validate() checks usernames itself).
USERNAME_LIST = {"type": "array", "items": {"type": "string", "format": "username"}, "uniqueItems": True,
                 "default": []}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
HOSTNAME_PATTERN = r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# A URL path prefix: /, /jupyter, /jupyter/ or /a/b/ (JupyterHub adds the slashes).
BASE_URL_PATTERN = r"^/([A-Za-z0-9._~-]+/)*([A-Za-z0-9._~-]+)?$"
# An IP address to listen on, or "" for every address (validate() checks it is one).
ADDRESS = {"type": "string", "default": ""}
# useradd's default NAME_REGEX, which groupadd also applies.
GROUP_PATTERN = r"^[a-z_][a-z0-9_-]{0,31}$"
# A hub group's name (hubstead.users.roster.GROUP).
HUB_GROUP_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def _section(description, properties):
    return {"type": "object", "description": description, "additionalProperties": False,
            "properties": properties, "default": {}}


SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Hubstead configuration (/etc/hubstead/config.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": _section("Who may use the hub.", {
            "admin": {**USERNAME_LIST, "description":
                      "Hub admins. They are approved as soon as they sign up and get sudo in their server."},
            "allowed": {**USERNAME_LIST, "description":
                        "Users approved without waiting for an admin (others sign up and wait)."},
            "banned": {**USERNAME_LIST, "description": "Users who may not log in at all."},
            "extra_user_groups": {
                "type": "object", "propertyNames": {"pattern": GROUP_PATTERN}, "default": {},
                "description": "Unix groups to put users' accounts in: users.extra_user_groups.GROUP "
                               "lists the hub users whose jupyter-NAME account joins GROUP (made if "
                               "missing) when their server starts.",
                "additionalProperties": {**USERNAME_LIST, "description":
                                         "Hub users whose unix account is a member of this unix group."},
            },
        }),
        # auth.<ClassName>.<trait>: checked against the class's traits (hubstead.config.auth).
        "auth": {"patternProperties": {r"^[A-Z][A-Za-z0-9]*$": {"type": "object"}}, **_section("How people log in.", {
            "type": {"type": "string", "default": "native", "description":
                     "The authenticator: native (sign-up with admin approval), firstuse, ldap, github, google, "
                     "generic (any OpenID Connect provider), cilogon or dummy, or their class names as TLJH "
                     "takes them (e.g. ldapauthenticator.LDAPAuthenticator). Its settings: "
                     "auth.<ClassName>.<setting>, e.g. auth.LDAPAuthenticator.server_address."},
            "native": _section("NativeAuthenticator's settings.", {
                "open_signup": {"type": "boolean", "default": False, "description":
                                "Approve every sign-up at once, without an admin. Off by default."},
                "minimum_password_length": {"type": "integer", "minimum": 1, "default": 8,
                                            "description": "Shortest password accepted at sign-up."},
                "allowed_failed_logins": {"type": "integer", "minimum": 0, "default": 5, "description":
                                          "Failed logins for a user from one address before that address may "
                                          "not try them for a while; four times as many from anywhere lock the "
                                          "user everywhere (0: never)."},
                "failed_logins_per_address": {"type": "integer", "minimum": 0, "default": 30, "description":
                                              "Failed logins from one address, whatever the usernames, before "
                                              "it may not log in for a while (0: never)."},
                "seconds_before_next_try": {"type": "integer", "minimum": 1, "default": 600, "description":
                                            "How long failed logins count: the locks above end when fewer "
                                            "than their limit are this recent."},
            }),
            "allow_insecure_dummy": {"type": "boolean", "default": False, "description":
                                     "Confirms auth.type dummy, which lets anyone log in as anyone: test hubs only."},
            "group_map": {"type": "array", "items": {"type": "string", "pattern": "^[a-z_][a-z0-9_-]*:.+$"},
                          "uniqueItems": True, "default": [], "description":
                          "HUBGROUP:PROVIDERGROUP items: whoever the login server puts in PROVIDERGROUP (an LDAP "
                          "group's DN in auth.LDAPAuthenticator.allowed_groups, an OAuth group claim) is in hub "
                          "group HUBGROUP, e.g. instructors:cn=teachers,ou=groups,dc=example,dc=org. Groups the "
                          "map names follow the provider at each login; other hub groups stay as they are."},
        })},
        "backup": _section("Scheduled backups (docs/backup.md).", {
            "schedule": {"type": "string", "enum": ["off", "hourly", "daily", "weekly"], "default": "off",
                         "description": "How often a systemd timer runs `hubstead backup create --scheduled` "
                                        "(homes included) into /var/lib/hubstead/backups; off: never."},
            "keep": {"type": "integer", "minimum": 1, "default": 7, "description":
                     "How many scheduled archives to keep; older ones are deleted after each new one."},
        }),
        "base_url": {"type": "string", "pattern": BASE_URL_PATTERN, "default": "/", "description":
                     "The URL prefix the hub lives under, e.g. /jupyter/: its pages at /jupyter/hub/, "
                     "users' servers at /jupyter/user/, hubstead's at /jupyter/services/hubstead/."},
        "http": _section("The public HTTP endpoint.", {
            "address": {**ADDRESS, "description":
                        "IP address the hub listens on for HTTP, e.g. 127.0.0.1; empty: every address."},
            "port": {**PORT, "default": 80, "description": "Port the hub answers on."},
        }),
        "https": _section("HTTPS in front of the hub, served by Caddy (on http.port and https.port).", {
            "enabled": {"type": "boolean", "default": False, "description":
                        "Serve the hub over HTTPS; plain HTTP then only redirects to it."},
            "address": {**ADDRESS, "description":
                        "IP address HTTPS listens on, e.g. 10.0.0.5; empty: every address."},
            "port": {**PORT, "default": 443, "description": "Port HTTPS answers on."},
            "domains": {"type": "array", "items": {"type": "string", "pattern": HOSTNAME_PATTERN},
                        "uniqueItems": True, "default": [], "description":
                        "The hub's DNS names, e.g. hub.example.org; certificates are issued for them."},
            "letsencrypt": _section("Certificates from Let's Encrypt (ACME), renewed automatically.", {
                "email": {"type": ["string", "null"], "pattern": EMAIL_PATTERN, "default": None,
                          "description": "Contact address for the certificate authority's expiry notices."},
                "domains": {"type": "array", "items": {"type": "string", "pattern": HOSTNAME_PATTERN},
                            "uniqueItems": True, "default": [], "description":
                            "TLJH's name for https.domains: these names count as well."},
                "staging": {"type": "boolean", "default": False, "description":
                            "Use Let's Encrypt's staging service (untrusted certificates, no rate limits)."},
            }),
            "tls": _section("Your own certificate instead of Let's Encrypt.", {
                "cert": {"type": ["string", "null"], "default": None,
                         "description": "Path of the certificate chain (PEM)."},
                "key": {"type": ["string", "null"], "default": None,
                        "description": "Path of its private key (PEM)."},
            }),
            "self_signed": {"type": "boolean", "default": False, "description":
                            "Use a certificate from Caddy's own local authority (closed networks, tests)."},
        }),
        "services": _section("Services the hub runs beside itself.", {
            "cull": _section("The idle culler: stops servers nobody has used for a while.", {
                "enabled": {"type": "boolean", "default": True, "description": "Run the idle culler."},
                "timeout": {"type": "integer", "minimum": 1, "default": 600, "description":
                            "Seconds without activity after which a server is stopped."},
                "every": {"type": "integer", "minimum": 1, "default": 60,
                          "description": "Seconds between checks."},
                "concurrency": {"type": "integer", "minimum": 1, "default": 5,
                                "description": "How many servers it stops at once."},
                "users": {"type": "boolean", "default": False, "description":
                          "Also delete idle users from the hub (their files stay; admins are kept)."},
                "max_age": {"type": "integer", "minimum": 0, "default": 0, "description":
                            "Stop servers older than this many seconds even when busy (0: never)."},
                "remove_named_servers": {"type": "boolean", "default": False, "description":
                                         "Also remove users' stopped named servers (TLJH's setting; "
                                         "Hubstead's users have one server each)."},
            }),
        }),
        "envs": _section("Where user environments get their packages.", {
            "channels": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": ["conda-forge"],
                         "description": "Conda channels (names or URLs) for specs that name none."},
            "channel_alias": {"type": "string", "pattern": "^(https?|file)://", "default": "https://conda.anaconda.org/",
                              "description": "Where channel names point: set a mirror's URL to fetch "
                                             "conda-forge and others from it."},
        }),
        "binder": _section("Binder on the hub: repositories built into environments, and /v2/... launch links.", {
            "providers": _section("Where each launch-link provider's repositories live.", {
                "gh": _section("GitHub links: /v2/gh/OWNER/REPO/REF.", {
                    "url": {"type": "string", "pattern": "^https?://[^/]+(/.*)?$", "default": "https://github.com",
                            "description": "Base URL OWNER/REPO is appended to: GitHub Enterprise, a mirror, "
                                           "or a test server."},
                }),
                "gl": _section("GitLab links: /v2/gl/URL-ENCODED-PROJECT/REF.", {
                    "url": {"type": "string", "pattern": "^https?://[^/]+(/.*)?$", "default": "https://gitlab.com",
                            "description": "Base URL the project path is appended to: a self-hosted GitLab, "
                                           "a mirror, or a test server."},
                }),
            }),
            "allowed_providers": {"type": "array", "items": {"type": "string",
                                                             "enum": ["gh", "gl", "git", "zenodo", "figshare"]},
                                  "uniqueItems": True, "default": ["gh", "gl", "git"], "description":
                                  "Launch-link providers this hub accepts; links naming another are refused."},
            "allowed_hosts": {"type": "array", "items": {"type": "string", "pattern": HOSTNAME_PATTERN},
                              "uniqueItems": True, "default": [], "description":
                              "Git hosts repositories may come from, e.g. github.com; empty: any host."},
            "who_can_build": {"type": "string", "enum": ["admins", "instructors", "users"],
                              "default": "instructors", "description":
                              "Who may start builds of repositories: hub admins only, admins and the "
                              "instructors group, or any user."},
            "build_timeout": {"type": "integer", "minimum": 60, "default": 1800, "description":
                              "Seconds a build may run (fetch, solve, install, postBuild) before it is stopped."},
            "build_memory": {"type": ["string", "null"], "pattern": SIZE_PATTERN, "default": "4G", "description":
                             "Memory a build may use (systemd MemoryMax), e.g. 4G; null: no limit."},
            "build_cpu": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": None, "description":
                          "CPU cores a build may use, e.g. 1.5; null: all of them."},
            "max_concurrent_builds": {"type": "integer", "minimum": 1, "default": 2, "description":
                                      "Builds that may run at once; more wait in a queue (the launch page "
                                      "and `hubstead build list` show their place)."},
            "network_allow": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True,
                              "default": [], "description":
                              "Hosts (HOST or HOST:PORT) builds may reach although they are this machine "
                              "or link-local, e.g. a package mirror on 127.0.0.1:3141. Builds never reach "
                              "the hub, its proxy or other local services otherwise."},
            "python_fallback": {"type": "boolean", "default": True, "description":
                                "When runtime.txt asks for a Python that neither this machine nor the conda "
                                "channels offer, build with the machine's Python (the build log says so); "
                                "false: fail the build."},
            "apt": _section("Debian packages that a repository's apt.txt asks for.", {
                "enabled": {"type": "boolean", "default": True, "description":
                            "Install the packages an apt.txt lists (system-wide, through a narrow "
                            "privileged step); false: refuse repositories that have an apt.txt."},
            }),
        }),
        "internal": _section("Ports on 127.0.0.1 between the hub's own parts; change only on a clash.", {
            "hub_port": {**PORT, "default": 8081, "description": "The hub's own API and pages."},
            "proxy_port": {**PORT, "default": 8000, "description":
                           "Where the proxy listens behind Caddy when HTTPS is on."},
            "proxy_api_port": {**PORT, "default": 8001,
                               "description": "configurable-http-proxy's REST API (routes)."},
            "web_port": {**PORT, "default": 8082, "description":
                         "hubstead's web service (launch links), which the hub starts and proxies "
                         "at /services/hubstead/."},
        }),
        "limits": _section("Per-user resource limits, enforced by systemd.", {
            "memory": {"type": ["string", "null"], "pattern": SIZE_PATTERN, "default": None,
                       "description": "Memory per user server, e.g. 1G or 512M; null: no limit."},
            "cpu": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": None,
                    "description": "CPU cores per user server, e.g. 1 or 0.5; null: no limit."},
            "disk": {"type": ["string", "null"], "pattern": SIZE_PATTERN, "default": None, "description":
                     "Disk quota of each user's account on /home's filesystem, e.g. 10G; null: none. "
                     "Needs a filesystem with quotas (ext4 with usrquota, XFS with uquota)."},
            "tasks": {"type": "integer", "minimum": 64, "default": 2048, "description":
                      "Processes and threads per user server (systemd TasksMax), so a fork bomb stays "
                      "inside one server."},
            "memory_guarantee": {"type": ["string", "null"], "pattern": SIZE_PATTERN, "default": None,
                                 "description": "Memory kept for each user server under pressure (systemd "
                                                "MemoryLow), e.g. 256M; null: none."},
            "max_servers": {"type": ["integer", "null"], "minimum": 1, "default": None, "description":
                            "How many servers may run at once; the hub refuses one more with \"the hub is "
                            "full\". null: no cap."},
            "concurrent_starts": {"type": ["integer", "null"], "minimum": 1, "default": None, "description":
                                  "How many servers may be starting at the same moment; more learners wait "
                                  "their turn, in order, on their spawn page (it tells them their place and "
                                  "goes on by itself). null: twice the machine's CPUs."},
            "groups": {"type": "object", "propertyNames": {"pattern": HUB_GROUP_PATTERN}, "default": {},
                       "description": "Limits of a hub group's members, over the global ones: "
                                      "limits.groups.GROUP.memory, .cpu, .disk, .gpus. A user in several "
                                      "groups gets the largest of each.",
                       "additionalProperties": _section("The limits of this hub group's members.", {
                           "memory": {"type": "string", "pattern": SIZE_PATTERN, "description":
                                      "Memory per server of this group's members, e.g. 4G."},
                           "cpu": {"type": "number", "exclusiveMinimum": 0, "description":
                                   "CPU cores per server of this group's members, e.g. 2."},
                           "disk": {"type": "string", "pattern": SIZE_PATTERN, "description":
                                    "Disk quota of this group's members, e.g. 20G."},
                           "gpus": {"type": ["string", "integer"], "minimum": 0, "description":
                                    "NVIDIA GPUs this group's servers may use: all, a count (2) or "
                                    "GPU numbers (0,2)."},
                       })},
        }),
        "shared": _section("Folders the hub's users share (hubstead.shared_folders).", {
            "course": {"type": "string", "pattern": r"^$|^/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+$",
                       "default": "/srv/hubstead/course", "description":
                       "The course folder, in every user's file browser as ~/course: writable by admins "
                       "and the instructors group, read-only for everyone else. \"\": no course folder."},
        }),
        "user_environment": _section("What a user's server runs.", {
            "default_env": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,39}$", "default": "default",
                            "description": "The environment a server starts in unless the user picks another."},
            "default_app": {"type": "string", "enum": ["jupyterlab", "classic"], "default": "jupyterlab",
                            "description": "The interface a new server opens: JupyterLab or the classic notebook."},
        }),
    },
}


def defaults(schema=SCHEMA):
    """The full default config, built from the schema's `default` values."""
    if schema.get("type") == "object" and "properties" in schema:
        return {key: defaults(sub) for key, sub in schema["properties"].items()}
    value = schema.get("default")
    # A copy: callers merge into what they get, and must not change the schema's own.
    return type(value)(value) if isinstance(value, (list, dict)) else value
