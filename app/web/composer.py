"""The reply composer's shared parts (drafts, uploads), and the "New mail" page.

Uploads have routes of their own (STREAMED in app/web/middleware.py): the middleware hands their
body on unread, and `read_upload` reads it as a stream, counting as it goes, and stops (413) as soon
as it passes what the draft may still take, never waiting for the rest. Memory holds at most that
much per upload. Ordinary forms stay within the middleware's MAX_FORM_BYTES.

Without JavaScript the composer still works: the Attach button posts the whole form (text and
files) to the upload route, which saves the draft and comes back to the page. With it, files go up
as they are chosen, with progress (static/app.js), and the draft saves itself as one types.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from app import channels, conversations, drafts
from app.errors import Invalid
from app.i18n import N_
from app.templating import render
from app.web.base import actor_of, error_text, locale_of, login_required, page, redirect
from app.web.middleware import form_text

TEXT_ROOM = 1024 * 1024  # the text fields and the multipart framing, besides the files themselves
# form field → draft field
DRAFT_FIELDS = {"body": "body", "cc": "cc", "bcc": "bcc", "to": "to_address", "subject": "subject",
                "channel_id": "channel_id"}

Page = Callable[..., Awaitable[Response]]


def draft_fields(form) -> dict:
    """The draft's fields from a form, only those it holds."""
    return {name: str(form[key]) for key, name in DRAFT_FIELDS.items() if isinstance(form.get(key), str)}


def budget(request: Request) -> int:
    return drafts.files_budget(request.app.state.settings.mail_max_bytes)


def _files(request: Request, draft: drafts.Draft, conversation_id: int | None) -> dict:
    """The draft, where its changes go, the room left for files and what to say when a file does not fit
    (the page's script checks before uploading)."""
    base = "/compose" if conversation_id is None else f"/conversations/{conversation_id}"
    return {"draft": draft, "draft_url": f"{base}/draft", "upload_url": f"{base}/uploads",
            "files_room": max(0, budget(request) - draft.files_size),
            "too_big": error_text(request, drafts.TooLarge(budget(request)))}


async def context(request: Request, conversation_id: int | None, channel_id: int | None = None) -> dict:
    """What a page with the composer shows: the person's draft and its generation, the room for files,
    and with a mailbox, its signature."""
    db, actor = request.app.state.db, actor_of(request)
    draft = await drafts.get(db, actor, conversation_id)
    signature = await channels.signature_of(db, actor.org_id, channel_id) if channel_id is not None else ""
    return {**_files(request, draft, conversation_id), "draft_generation": draft.generation, "signature": signature}


async def keep(request: Request, conversation_id: int | None, form) -> None:
    """Save what was typed when a send failed, so it survives a reload too."""
    await drafts.save(request.app.state.db, actor_of(request), conversation_id, _generation(form), **draft_fields(form))


def _generation(form) -> int | None:
    """The draft generation the form's page showed (see app/drafts.py)."""
    value = form.get("draft_generation")
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 10 else None


def refuse_unattached(form) -> None:
    """Without JavaScript a chosen file is only a name in the send form: it must be attached first."""
    if any(isinstance(name, str) and name for name in form.getlist("files")):
        raise Invalid(N_("Press Attach to add the chosen files first."), "files")


def _wants_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def files_fragment(request: Request, conversation_id: int | None, draft: drafts.Draft, status: int = 200,
                   error: str | None = None) -> Response:
    html = render("partials/draft_files.html", locale=locale_of(request), files_error=error,
                  **_files(request, draft, conversation_id))
    return HTMLResponse(html, status_code=status)


# --- the upload, read as a stream ----------------------------------------------------------------

class BodyTooLarge(Exception):
    """The upload passed its limit; `fields` holds the text fields that had arrived whole before that."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("upload too large")
        self.fields = fields


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = ""
    data: bytearray = field(default_factory=bytearray)


@dataclass
class UploadForm:
    fields: dict[str, str]
    files: list[drafts.Upload]


async def read_upload(request: Request, limit: int) -> UploadForm:
    """A multipart form's text fields and files, read as it arrives; BodyTooLarge past `limit` bytes of
    files (plus TEXT_ROOM), before reading further. A body that is not multipart carries no files."""
    cap = limit + TEXT_ROOM
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise BodyTooLarge({})
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data" or not options.get(b"boundary"):
        return UploadForm({}, [])
    parts: list[_Part] = []
    header = [bytearray(), bytearray()]

    def on_header_end() -> None:
        name, value = bytes(header[0]).lower(), bytes(header[1])
        if name == b"content-disposition":
            _, params = parse_options_header(value)
            parts[-1].name = form_text(params.get(b"name", b""))
            parts[-1].filename = form_text(params[b"filename"]) if b"filename" in params else None
        elif name == b"content-type":
            parts[-1].content_type = value.decode("latin-1")
        header[0].clear()
        header[1].clear()

    parser = MultipartParser(options[b"boundary"], {
        "on_part_begin": lambda: parts.append(_Part()),
        "on_header_field": lambda data, start, end: header[0].extend(data[start:end]),
        "on_header_value": lambda data, start, end: header[1].extend(data[start:end]),
        "on_header_end": on_header_end,
        "on_part_data": lambda data, start, end: parts[-1].data.extend(data[start:end]),
    })
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > cap:
            # the parts that ended before this one are whole; the last may be cut off
            raise BodyTooLarge({p.name: form_text(p.data) for p in parts[:-1] if p.filename is None})
        parser.write(chunk)
    parser.finalize()
    return UploadForm({p.name: form_text(p.data) for p in parts if p.filename is None},
                      [drafts.Upload(p.filename, p.content_type, p.data) for p in parts
                       if p.filename is not None and (p.filename or p.data)])


async def upload(request: Request, conversation_id: int | None, back: str, page_with: Page) -> Response:
    """Files for the person's draft here, with the text typed beside them; back to the page, or (from
    the page's script) the draft's file list. Too big: 413, with what was typed kept."""
    db, actor = request.app.state.db, actor_of(request)
    error, status = None, 200
    try:
        await drafts.check_writer(db, actor, conversation_id, files=True)  # before reading a byte of it
        form = await read_upload(request, await drafts.room(db, actor, conversation_id, budget(request)))
        await drafts.add_files(db, actor, conversation_id, _generation(form.fields), form.files, budget(request),
                               **draft_fields(form.fields))
    except BodyTooLarge as exc:
        if exc.fields:
            await keep(request, conversation_id, exc.fields)
        error, status = error_text(request, drafts.TooLarge(budget(request))), 413
    except ValueError:  # not UTF-8 text, or a broken multipart body
        error, status = error_text(request, Invalid(N_("The upload could not be read. Try again."))), 400
    except Invalid as exc:
        error, status = error_text(request, exc), 413 if isinstance(exc, drafts.TooLarge) else 400
    if _wants_fragment(request):
        return files_fragment(request, conversation_id, await drafts.get(db, actor, conversation_id), status, error)
    if error:
        return await page_with(request, status, files_error=error)
    return redirect(back)


async def save_draft(request: Request, conversation_id: int | None, back: str) -> Response:
    """Autosave (htmx: answers with the draft's state), or a file taken off the draft (back to the page)."""
    db, actor, form = request.app.state.db, actor_of(request), await request.form()
    remove = str(form.get("remove_file", ""))
    if remove.isdigit():
        await drafts.remove_file(db, actor, conversation_id, _generation(form), int(remove), **draft_fields(form))
    else:
        saved = await drafts.save(db, actor, conversation_id, _generation(form), **draft_fields(form))
        if _wants_fragment(request):
            return HTMLResponse(render("partials/draft_state.html", locale=locale_of(request), saved=saved))
    return redirect(back)


# --- a new mail to a customer --------------------------------------------------------------------

async def _compose_page(request: Request, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    mailboxes = [c for c in await channels.list_channels(db, actor.org_id) if c["kind"] == "mailbox"]
    return page(request, "pages/compose.html", status, mailboxes=mailboxes, **await context(request, None), **extra)


@login_required
async def new_mail(request: Request) -> Response:
    await drafts.check_writer(request.app.state.db, actor_of(request), None)
    return await _compose_page(request)


@login_required
async def send_new_mail(request: Request) -> Response:
    form = await request.form()
    try:
        refuse_unattached(form)
        conversation_id = await conversations.start_mail(
            request.app.state.db, actor_of(request), channel_id=str(form.get("channel_id", "")),
            to=str(form.get("to", "")), subject=str(form.get("subject", "")), body=str(form.get("body", "")),
            cc=str(form.get("cc", "")), bcc=str(form.get("bcc", "")))
    except Invalid as exc:
        await keep(request, None, form)
        return await _compose_page(request, 400, error=error_text(request, exc), error_field=exc.field)
    return redirect(f"/conversations/{conversation_id}")


@login_required
async def upload_new(request: Request) -> Response:
    return await upload(request, None, "/compose", _compose_page)


@login_required
async def draft_new(request: Request) -> Response:
    return await save_draft(request, None, "/compose")


routes = [
    Route("/compose", new_mail),
    Route("/compose", send_new_mail, methods=["POST"]),
    Route("/compose/uploads", upload_new, methods=["POST"]),
    Route("/compose/draft", draft_new, methods=["POST"]),
]
