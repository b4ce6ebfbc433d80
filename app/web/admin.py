"""Admin screens: members (invite, role, away, password-reset link) and channels."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import accounts, channels, tags
from app.errors import Invalid
from app.web.base import actor_of, admin_required, error_text, page, path_id, redirect


async def _members_page(request: Request, status: int = 200, **extra) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    return page(request, "pages/admin_members.html", status,
                members=await accounts.members(db, actor.org_id),
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
        invite_id = await accounts.invite(state.db, actor, email, role)
    except Invalid as exc:
        return await _members_page(request, 400, invite_error=error_text(request, exc), invite_email=email)
    link = f"{state.settings.base_url}/invite/{accounts.invite_token(state.settings.secret_key, invite_id)}"
    return await _members_page(request, invite_link=link, invite_email=email)


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


@admin_required
async def edit_channel(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    channel = await channels.get_channel(db, actor.org_id, path_id(request))
    ingress = (f"{channel['ingress_local_part']}@{request.app.state.settings.ingress_domain}"
               if channel["ingress_local_part"] else None)
    if request.method == "GET":
        return page(request, "pages/admin_channel_edit.html", ch=channel, form=channel, colours=channels.COLOURS,
                    ingress=ingress)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("name", "colour", "address", "response_target_minutes")}
    if channel["kind"] == "mailbox":  # its signature, below every reply (issue 7)
        values["signature"] = str(form.get("signature", ""))
    try:
        await channels.update_channel(db, actor, channel["id"], **values)
    except Invalid as exc:
        return page(request, "pages/admin_channel_edit.html", 400, ch=channel, form=values,
                    colours=channels.COLOURS, ingress=ingress, error=error_text(request, exc))
    return redirect("/admin/channels")


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


routes = [
    Route("/members", members),
    Route("/members/invite", invite, methods=["POST"]),
    Route("/members/{id:int}/role", set_role, methods=["POST"]),
    Route("/members/{id:int}/away", set_away, methods=["POST"]),
    Route("/members/{id:int}/reset-link", reset_link, methods=["POST"]),
    Route("/channels", channel_list),
    Route("/channels", create_channel, methods=["POST"]),
    Route("/channels/{id:int}", edit_channel, methods=["GET", "POST"]),
    Route("/tags", tag_list),
    Route("/tags", create_tag, methods=["POST"]),
    Route("/tags/groups", create_tag_group, methods=["POST"]),
]
