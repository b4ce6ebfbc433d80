"""Mail that is in no conversation (kept raw, readable and downloadable), and attachment downloads."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.mail import raw
from app.web.base import actor_of, login_required, page, path_id


def download(data: bytes, filename: str, content_type: str = "application/octet-stream") -> Response:
    """A file as a download, never shown inline: our own safe name (RFC 6266), and no sniffing."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r'[^A-Za-z0-9._ -]+', "_", ascii_name).strip(" .") or "file"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", content_type):
        content_type = "application/octet-stream"
    return Response(data, media_type=content_type, headers={
        "content-disposition": disposition, "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox"})


@login_required
async def unplaced(request: Request) -> Response:
    actor = actor_of(request)
    return page(request, "pages/mail_unplaced.html", mails=await raw.unplaced(request.app.state.db, actor.org_id))


@login_required
async def original(request: Request) -> Response:
    mail = await raw.original(request.app.state.db, actor_of(request).org_id, path_id(request))
    # shown as text: the bytes as they came, never rendered (replacement characters for what is not UTF-8)
    return page(request, "pages/mail_original.html", mail=mail, text=mail["raw"][:200_000].decode("utf-8", "replace"))


@login_required
async def original_download(request: Request) -> Response:
    mail = await raw.original(request.app.state.db, actor_of(request).org_id, path_id(request))
    return download(mail["raw"], f"mail-{mail['id']}.eml", "message/rfc822")


@login_required
async def attachment(request: Request) -> Response:
    found = await raw.attachment(request.app.state.db, actor_of(request).org_id, path_id(request))
    return download(found["data"], found["filename"], found["content_type"])


routes = [
    Route("/mail/unplaced", unplaced),
    Route("/mail/{id:int}", original),
    Route("/mail/{id:int}/raw", original_download),
    Route("/attachments/{id:int}", attachment),
]
