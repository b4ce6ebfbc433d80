"""A forum's embeddable form: the one deliberate exception to the site's framing rules.

Its own route (/forum/{slug}/embed) may be framed only by the sites an admin lists for that forum
(Content-Security-Policy frame-ancestors; every other route keeps `frame-ancestors 'none'`). Inside a
frame on another site our cookies are third-party and browsers drop them, so the form carries its own
token, signed for this forum and a few hours, instead of the session's CSRF cookie; the Origin check,
rate limits and honeypot are those of the public form (app/web/forum.py).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.actors import AnyActor, require
from app.db import Database
from app.errors import Invalid, NotFound
from app.i18n import N_

MAX_ORIGINS = 20
TOKEN_MAX_AGE = 4 * 3600  # a form left open for an afternoon still posts
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def clean_origin(text: str) -> str:
    """One site as an origin, e.g. "https://app.example.se" or "http://localhost:8080"; Invalid otherwise."""
    text = text.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("https", "http") or not parts.hostname
            or not _HOST.match(parts.hostname) or parts.path or parts.query or parts.fragment
            or parts.username or parts.password or "*" in text):
        raise Invalid(N_("%(site)s is not a site address such as https://www.example.se."), "embed_origins",
                      site=text[:100])
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def clean_origins(text: str) -> list[str]:
    """The sites an admin typed, one per line (or separated by spaces or commas), each once."""
    found: list[str] = []
    for word in re.split(r"[\s,]+", text or ""):
        if word and (origin := clean_origin(word)) not in found:
            found.append(origin)
    if len(found) > MAX_ORIGINS:
        raise Invalid(N_("That is too many sites: at most %(max)s."), "embed_origins", max=MAX_ORIGINS)
    return found


async def save_origins(db: Database, actor: AnyActor, channel_id: int, text: str) -> list[str]:
    """Set which sites may frame the forum's form (none: it cannot be framed anywhere)."""
    require(actor, "channel.manage")
    origins = clean_origins(text)
    async with db.transaction(actor.org_id) as tx:
        kind = await tx.fetchval("SELECT kind FROM channels WHERE org_id = $1 AND id = $2 FOR UPDATE",
                                 actor.org_id, channel_id)
        if kind is None:
            raise NotFound()
        if kind != "forum":
            raise Invalid(N_("Only a forum has an embeddable form."), "embed_origins")
        if await tx.fetchval("""UPDATE channels SET embed_origins = $3 WHERE org_id = $1 AND id = $2
                                AND embed_origins IS DISTINCT FROM $3 RETURNING 1""", actor.org_id, channel_id, origins):
            await tx.emit("channel.updated", channel_id=channel_id, actor_id=actor.user_id)
    return origins


async def origins_of(db: Database, org_id: int, channel_id: int) -> list[str]:
    """The sites that may frame this forum's form."""
    row = await db.read_one(org_id, "SELECT embed_origins FROM channels WHERE org_id = $1 AND id = $2",
                            org_id, channel_id)
    return list(row["embed_origins"])


def frame_policy(csp: str, origins: list[str]) -> str:
    """The site's Content-Security-Policy with frame-ancestors set to these sites ('none' when there are none)."""
    return csp.replace("frame-ancestors 'none'", "frame-ancestors " + (" ".join(origins) or "'none'"))


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="samsyn.forum-embed")


def form_token(secret: str, channel_id: int) -> str:
    """The token a freshly shown form of this forum posts with."""
    return _serializer(secret).dumps(channel_id)


def token_ok(secret: str, channel_id: int, token: str) -> bool:
    """Whether the token was given out with this forum's form, within TOKEN_MAX_AGE."""
    try:
        return _serializer(secret).loads(token or "", max_age=TOKEN_MAX_AGE) == channel_id
    except (BadSignature, SignatureExpired):
        return False
