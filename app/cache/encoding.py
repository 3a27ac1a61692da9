"""Cached bodies sent compressed, compressed once per body instead of once per response.

The app's compression middleware (Litestar's, app/server.py: brotli with a gzip fallback) would
compress a cached page again for every response: for the 190 kB dashboard that is most of what a
cache hit costs. Here the encoding the middleware would choose is chosen the same way, the body is
compressed once and kept in the cache next to the plain one (keyed by the plain body's digest, so
the two never disagree), and the response is marked as cached, which the middleware passes through.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict

import brotli
from litestar import Request, Response
from litestar.utils.scope.state import ScopeState

from app.cache.responses import ResponseCache

MINIMUM_SIZE = 500  # Litestar's CompressionConfig.minimum_size: smaller bodies go out plain
BROTLI_QUALITY = 5  # the middleware's own: most API bodies are asked for once


REPLAYABLE = "computehub.replayable"
"""Scope key set on a response built from a cached body: (data version, when the body was stored).
app/web/cache_hits.py keeps such responses and answers the same request again before Litestar."""


_digests: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
"""Digest of a body by its identity: a memory-cache hit hands out the same bytes object each time,
so hashing 190 kB again per hit (0.4 ms) is skipped."""


def body_digest(body: bytes) -> str:
    known = _digests.get(id(body))
    if known is not None and known[0] is body:
        return known[1]
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    _digests[id(body)] = (body, digest)
    while len(_digests) > 64:
        _digests.popitem(last=False)
    return digest


def negotiated(accept_encoding: str) -> str | None:
    """The middleware's own choice: brotli if named, else gzip if named (a substring test, as there)."""
    if "br" in accept_encoding:
        return "br"
    if "gzip" in accept_encoding:
        return "gzip"
    return None


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT)
    return gzip.compress(body, compresslevel=6, mtime=0)


async def encoded_response(request: Request, cache: ResponseCache, key: str, version: str, body: bytes,
                           media_type: str, *, stored_at: float | None = None) -> Response:
    """``stored_at`` (when ``body`` was stored in ``cache``) marks the response as the same for every
    visitor asking this URL at ``version`` (see ``REPLAYABLE``)."""
    if stored_at is not None:
        request.scope[REPLAYABLE] = (version, stored_at)  # type: ignore[literal-required]
    encoding = negotiated(request.headers.get("accept-encoding", ""))
    if encoding is None or len(body) < MINIMUM_SIZE:
        return Response(content=body, media_type=media_type)
    digest = body_digest(body)

    async def packed() -> bytes:
        return compress(body, encoding)

    content = await cache.fetch(f"{key}#{encoding}:{digest}", version, packed)
    ScopeState.from_scope(request.scope).is_cached = True  # the compression middleware sends it as it is
    return Response(content=content, media_type=media_type,
                    headers={"content-encoding": encoding, "vary": "Accept-Encoding"})
