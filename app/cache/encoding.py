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
BROTLI_QUALITY = 5  # the middleware's own, for pages: each is asked for many times per version
DYNAMIC_BROTLI_QUALITY = 1
"""For answers asked for about once (an API query per filter): quality 5 took 0.22 ms for a
35 kB API page, quality 1 0.04 ms for a third more bytes (1.5 vs 2 kB; gzip -1 took 0.07 ms)."""


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


def compress(body: bytes, encoding: str, brotli_quality: int = BROTLI_QUALITY) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=brotli_quality, mode=brotli.MODE_TEXT)
    return gzip.compress(body, compresslevel=6, mtime=0)


async def encoded_body(cache: ResponseCache, key: str, version: str, body: bytes, accept_encoding: str, *,
                       brotli_quality: int = BROTLI_QUALITY) -> tuple[bytes, str | None]:
    """(the bytes to send, their Content-Encoding: None for ``body`` as it is), as the compression
    middleware would choose, compressed once per body and kept in ``cache``."""
    encoding = negotiated(accept_encoding)
    if encoding is None or len(body) < MINIMUM_SIZE:
        return body, None

    async def packed() -> bytes:
        return compress(body, encoding, brotli_quality)

    return await cache.fetch(f"{key}#{encoding}:{body_digest(body)}", version, packed), encoding


async def encoded_response(request: Request, cache: ResponseCache, key: str, version: str, body: bytes,
                           media_type: str, *, stored_at: float | None = None,
                           brotli_quality: int = BROTLI_QUALITY) -> Response:
    """``stored_at`` (when ``body`` was stored in ``cache``) marks the response as the same for every
    visitor asking this URL at ``version`` (see ``REPLAYABLE``)."""
    if stored_at is not None:
        request.scope[REPLAYABLE] = (version, stored_at)  # type: ignore[literal-required]
    content, encoding = await encoded_body(cache, key, version, body, request.headers.get("accept-encoding", ""),
                                           brotli_quality=brotli_quality)
    if encoding is None:
        return Response(content=body, media_type=media_type)
    ScopeState.from_scope(request.scope).is_cached = True  # the compression middleware sends it as it is
    return Response(content=content, media_type=media_type, headers=encoded_headers(encoding))


def encoded_headers(encoding: str) -> dict[str, str]:
    return {"content-encoding": encoding, "vary": "Accept-Encoding"}
