"""Static files (app/web/static and the plotly bundle of the installed plotly package) under
content-hashed URLs.

Templates link ``{{ static_url("site.css") }}``, which names the file's content
(``/static/site.3f9c0a1b2d4e.css``): such a URL never changes meaning, so it is cached for a year and
``immutable``, and a new release links new URLs. The plain ``/static/site.css`` keeps working with a
short cache, for anything that linked it before. Each file is compressed once per encoding and kept
in memory (the bundle is 4.8 MB; compressing it per request would stall the event loop), so this
route is left out of the app-wide compression middleware.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import brotli
import plotly
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

STATIC_DIR = Path(__file__).resolve().parent / "static"
PLOTLY_BUNDLE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
EXTRA_FILES = {"vendor/plotly.min.js": PLOTLY_BUNDLE}
"""Files served under /static that live outside app/web/static."""

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
DIGEST_LENGTH = 12
_HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<suffix>\.[A-Za-z0-9]+)$")
# Compressed once and kept, so a better ratio is worth a little more time than per-response compression.
BROTLI_QUALITY = 7
COMPRESSIBLE = ("text/", "application/javascript", "image/svg+xml")


@dataclass
class Asset:
    name: str
    body: bytes
    media_type: str
    digest: str = field(init=False)
    _encoded: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256(self.body).hexdigest()[:DIGEST_LENGTH]

    @property
    def hashed_name(self) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{suffix}" if dot else f"{self.name}.{self.digest}"

    def encoded(self, encoding: str) -> bytes:
        if encoding not in self._encoded:
            compress = {"br": lambda b: brotli.compress(b, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT),
                        "gzip": lambda b: gzip.compress(b, compresslevel=9, mtime=0)}[encoding]
            self._encoded[encoding] = compress(self.body)
        return self._encoded[encoding]


def _media_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return "application/javascript" if kind == "text/javascript" else kind


@lru_cache(maxsize=256)  # bounded: the names come from request paths
def asset(name: str) -> Asset | None:
    """The file ``name`` (relative to /static), or None if there is none; read once per process."""
    path = EXTRA_FILES.get(name) or (STATIC_DIR / name)
    try:
        if name not in EXTRA_FILES and not path.resolve().is_relative_to(STATIC_DIR):
            return None
        return Asset(name, path.read_bytes(), _media_type(name))
    except (OSError, ValueError):  # missing, a directory, or a name no file system accepts
        return None


def static_url(name: str) -> str:
    """The content-hashed URL of a static file (a Jinja global); a missing file is a template bug."""
    found = asset(name)
    if found is None:
        raise LookupError(f"no static file {name!r}")
    return f"/static/{found.hashed_name}"


def _resolve(path: str) -> tuple[Asset, bool]:
    """The asset a /static path names, and whether the path carried its (current) content hash."""
    plain = asset(path)
    if plain is not None:
        return plain, False
    match = _HASHED.match(path)
    if match:
        named = asset(match["stem"] + match["suffix"])
        if named is not None and named.digest == match["digest"]:
            return named, True
    # An unknown file, or an old hash: never serve other content under a URL cached as immutable.
    raise NotFoundException(f"No static file {path!r}")


def _accepted(request: Request) -> str | None:
    """br if the client takes it, else gzip, else None (``gzip;q=0`` refuses gzip)."""
    offered = set()
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        if not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            offered.add(coding)
    return next((encoding for encoding in ("br", "gzip") if encoding in offered), None)


@get("/static/{path:path}", permission="public", name="static", include_in_schema=False, sync_to_thread=False)
def static_file(request: Request, path: str) -> Response[bytes]:
    found, hashed = _resolve(path.lstrip("/"))
    headers = {"Cache-Control": IMMUTABLE if hashed else SHORT, "Vary": "Accept-Encoding"}
    body = found.body
    encoding = _accepted(request) if found.media_type.startswith(COMPRESSIBLE) else None
    if encoding:
        body = found.encoded(encoding)
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=found.media_type, headers=headers)
