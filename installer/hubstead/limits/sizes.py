"""Sizes as the config writes them (512M, 1G, 1.5G, 1073741824) and as bytes.

K, M, G and T are powers of 1024, as systemd and SystemdSpawner read them.
"""

import re

from ..errors import HubsteadError

UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGT]?)$")


class SizeError(HubsteadError):
    """A size that is not a number with K, M, G or T."""


def parse_size(text, what="size"):
    """Bytes of a size such as 4G or 512M; SizeError for a negative or malformed one."""
    found = SIZE.match(str(text).strip().upper())
    if not found:
        raise SizeError(f"{what}: {text!r} is not a size; use a number with K, M, G or T, e.g. 1G")
    return int(float(found.group(1)) * UNITS[found.group(2)])


def format_size(count):
    """The shortest exact form of a byte count: 4G, 512M, 1536K, 100."""
    for unit in ("T", "G", "M", "K"):
        if count and count % UNITS[unit] == 0:
            return f"{count // UNITS[unit]}{unit}"
    return str(count)
