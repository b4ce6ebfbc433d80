"""Admin screens: members (invite by mail, role, away, password-reset link, remove) and channels."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, blocking, channels, tags
from app.mail import imap
from app.errors import Invalid
from app.web.base import actor_of, admin_required, error_text, page, path_id, redirect


async def _members_page(request: Request, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    return page(request, "pages/admin_members.html", status,
                members=await accounts.team(db, actor.org_id),
                invites=await accounts.open_invites(db, actor.org_id),
                roles=accounts.ROLES, **extra)


@admin_required
async def members(request: Request) -> Response:
    return await _members_page(request)


@admin_required
async def invite(request: Request) -> Response:
    state, actor = request.app.state, actor_of(request)
    form = await request.form()
    email, role = str(form.get("email", "")), str(form.get("role", "editor"))
    try:
        await accounts.invite(state.db, actor, email, role)
    except Invalid as exc:
        return await _members_page(request, 400, invite_error=error_text(request, exc), invite_email=email)
    return redirect("/admin/members")


@admin_required
async def resend_invite(request: Request) -> Response:
    await accounts.resend_invite(request.app.state.db, actor_of(request), path_id(request))
    return redirect("/admin/members")


@admin_required
async def remove(request: Request) -> Response:
    actor = actor_of(request)
    try:
        await accounts.remove_member(request.app.state.db, actor, path_id(request))
    except Invalid as exc:
        return await _members_page(request, 400, member_error=error_text(request, exc))
    # whoever removed themselves has no session here any more
    return redirect("/admin/members" if path_id(request) != actor.user_id else "/login")


@admin_required
async def set_role(request: Request) -> Response:
    form = await request.form()
    try:
        await accounts.set_role(request.app.state.db, actor_of(request), path_id(request), str(form.get("role", "")))
    except Invalid as exc:
        return await _members_page(request, 400, member_error=error_text(request, exc))
    return redirect("/admin/members")


@admin_required
async def set_away(request: Request) -> Response:
    form = await request.form()
    await accounts.set_away(request.app.state.db, actor_of(request), path_id(request), form.get("away") == "1")
    return redirect("/admin/members")


@admin_required
async def reset_link(request: Request) -> Response:
    state, actor = request.app.state, actor_of(request)
    user_id = path_id(request)
    try:
        token = await accounts.reset_link_token(state.db, actor, state.settings.secret_key, user_id)
    except Invalid as exc:
        return await _members_page(request, 400, member_error=error_text(request, exc))
    person = await accounts.member(state.db, actor.org_id, user_id)
    return await _members_page(request, reset_link=f"{state.settings.base_url}/reset/{token}", reset_for=person)


async def _channels_page(request: Request, status: int = 200, **extra) -> Response:
    return page(request, "pages/admin_channels.html", status,
                channels=await channels.list_channels(request.app.state.db, actor_of(request).org_id),
                colours=channels.COLOURS, **extra)


@admin_required
async def channel_list(request: Request) -> Response:
    return await _channels_page(request)


@admin_required
async def create_channel(request: Request) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("kind", "name", "colour", "address", "response_target_minutes")}
    try:
        await channels.create_channel(request.app.state.db, actor_of(request), **values)
    except Invalid as exc:
        return await _channels_page(request, 400, error=error_text(request, exc), error_field=exc.field,
                                    form=values)
    return redirect("/admin/channels")


async def _channel_page(request: Request, status: int = 200, **extra) -> Response:
    """A channel's settings; a mailbox's with its IMAP server and how the last poll went."""
    db, actor = request.app.state.db, actor_of(request)
    channel = await channels.get_channel(db, actor.org_id, path_id(request))
    ingress = (f"{channel['ingress_local_part']}@{request.app.state.settings.ingress_domain}"
               if channel["ingress_local_part"] else None)
    imap_settings = await imap.settings_of(db, actor.org_id, channel["id"]) if channel["kind"] == "mailbox" else None
    context = {"form": channel, "imap_form": imap_settings, "hours_form": _hours_fields(channel), **extra}
    return page(request, "pages/admin_channel_edit.html", status, ch=channel, colours=channels.COLOURS,
                ingress=ingress, imap=imap_settings, imap_error_message=imap.error_message,
                imap_securities=imap.SECURITY, auto_assign=channels.AUTO_ASSIGN, **context)


@admin_required
async def edit_channel(request: Request) -> Response:
    if request.method == "GET":
        return await _channel_page(request)
    db, actor = request.app.state.db, actor_of(request)
    channel = await channels.get_channel(db, actor.org_id, path_id(request))
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("name", "colour", "address", "response_target_minutes")}
    if channel["kind"] == "mailbox":  # how new cases are assigned, and the signature below every reply
        values["auto_assign"] = str(form.get("auto_assign", "off"))
        values["signature"] = str(form.get("signature", ""))
    # opening hours and holidays (statistics, issue 10)
    hours_form = {k: str(form.get(k, "")) for k in _HOURS_FIELDS}
    with_hours = any(k in form for k in _HOURS_FIELDS)  # a form without them keeps them
    try:
        await channels.update_channel(db, actor, channel["id"], **values,
                                      opening_hours=channels.hours_from_form(hours_form) if with_hours else None,
                                      holidays=hours_form["holidays"] if with_hours else None)
    except Invalid as exc:
        return await _channel_page(request, 400, form=values, hours_form=hours_form, error=error_text(request, exc),
                                   error_field=exc.field)
    return redirect("/admin/channels")


_HOURS_FIELDS = (*(f"{edge}_{day}" for day in range(1, 8) for edge in ("opens", "closes")), "holidays")


def _hours_fields(channel) -> dict:
    """A channel's opening hours and holidays as the form's fields show them (08:00, 2026-12-24)."""
    fields = {"holidays": "\n".join(d.isoformat() for d in channel["holidays"])}
    for day, span in enumerate(channel["opening_hours"], 1):
        for edge, minutes in zip(("opens", "closes"), span or (None, None), strict=True):
            fields[f"{edge}_{day}"] = "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"
    return fields


IMAP_FIELDS = ("host", "port", "security", "username", "folder")


@admin_required
async def channel_imap(request: Request) -> Response:
    """Save a mailbox's IMAP server; the password is never sent back, an empty one keeps the saved one."""
    state, actor = request.app.state, actor_of(request)
    form = await request.form()
    values = {k: str(form.get(f"imap_{k}", "")) for k in IMAP_FIELDS}
    enabled = form.get("imap_enabled") == "1"
    try:
        await imap.save_settings(state.db, actor, path_id(request), key=state.settings.mail_password_key,
                                 password=str(form.get("imap_password", "")), enabled=enabled, **values)
    except Invalid as exc:
        return await _channel_page(request, 400, imap_form={**values, "enabled": enabled},
                                   imap_error=error_text(request, exc), imap_error_field=exc.field)
    return redirect(f"/admin/channels/{path_id(request)}")


async def _tags_page(request: Request, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    return page(request, "pages/admin_tags.html", status, groups=await tags.catalogue(db, actor.org_id), **extra)


@admin_required
async def tag_list(request: Request) -> Response:
    return await _tags_page(request)


@admin_required
async def create_tag(request: Request) -> Response:
    form = await request.form()
    name, group = str(form.get("name", "")), str(form.get("group_id", ""))
    try:
        await tags.create_tag(request.app.state.db, actor_of(request), name, int(group) if group.isdigit() else None)
    except Invalid as exc:
        return await _tags_page(request, 400, tag_error=error_text(request, exc))
    return redirect("/admin/tags")


@admin_required
async def create_tag_group(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name", ""))
    try:
        await tags.create_group(request.app.state.db, actor_of(request), name)
    except Invalid as exc:
        return await _tags_page(request, 400, group_error=error_text(request, exc), group_name=name)
    return redirect("/admin/tags")


async def _blocked_page(request: Request, status: int = 200, **extra) -> Response:
    blocked_senders = await blocking.blocked_list(request.app.state.db, actor_of(request).org_id)
    return page(request, "pages/admin_blocked.html", status, blocked=blocked_senders, **extra)


@admin_required
async def blocked(request: Request) -> Response:
    return await _blocked_page(request)


@admin_required
async def block(request: Request) -> Response:
    pattern = str((await request.form()).get("pattern", ""))
    try:
        await blocking.block(request.app.state.db, actor_of(request), pattern)
    except Invalid as exc:
        return await _blocked_page(request, 400, error=error_text(request, exc), pattern=pattern)
    return redirect("/admin/blocked")


@admin_required
async def unblock(request: Request) -> Response:
    await blocking.unblock(request.app.state.db, actor_of(request), path_id(request))
    return redirect("/admin/blocked")


routes = [
    Route("/members", members),
    Route("/members/invite", invite, methods=["POST"]),
    Route("/members/{id:int}/role", set_role, methods=["POST"]),
    Route("/members/{id:int}/away", set_away, methods=["POST"]),
    Route("/members/{id:int}/reset-link", reset_link, methods=["POST"]),
    Route("/members/{id:int}/remove", remove, methods=["POST"]),
    Route("/invites/{id:int}/resend", resend_invite, methods=["POST"]),
    Route("/channels", channel_list),
    Route("/channels", create_channel, methods=["POST"]),
    Route("/channels/{id:int}", edit_channel, methods=["GET", "POST"]),
    Route("/channels/{id:int}/imap", channel_imap, methods=["POST"]),
    Route("/tags", tag_list),
    Route("/tags", create_tag, methods=["POST"]),
    Route("/tags/groups", create_tag_group, methods=["POST"]),
    # blocked senders (case tools)
    Route("/blocked", blocked),
    Route("/blocked", block, methods=["POST"]),
    Route("/blocked/{id:int}/delete", unblock, methods=["POST"]),
]
