"""QR codes of launch links, as SVG, for the instructors' page to put on a projector."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from .errors import HubsteadError

MAX_URL = 2000  # characters: a QR code of more is too dense to scan from a projector


class QRCodeError(HubsteadError):
    """A text that should not, or cannot, become a QR code."""


def link_svg(url: str, scale: int = 8) -> str:
    """The SVG of a QR code of an http(s) URL (error correction M, a 4-module border)."""
    url = (url or "").strip()
    if not url:
        raise QRCodeError("give the link to encode: ?url=https://...")
    if len(url) > MAX_URL:
        raise QRCodeError(f"the link is {len(url)} characters long; a QR code takes at most {MAX_URL}")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise QRCodeError(f"{url[:80]!r} is not an http(s) link")
    import segno  # only the web service draws QR codes; the CLI need not load it

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=scale, border=4, xmldecl=False,
                                    title="QR code of the launch link", svgclass="hubstead-qr")
    return buffer.getvalue().decode()
