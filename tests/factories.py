"""Plain functions that make what a test needs, each in an organisation of the test's own."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx

from app import accounts, channels, conversations
from app.actors import Actor, System, Visitor

PASSWORD = "correct horse battery"


@dataclass
class Person:
    actor: Actor
    email: str
    password: str = PASSWORD


def unique_email(name: str = "user") -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@test.samsyn.se"


async def make_org(db, name: str = "Testbolaget AB", admin_name: str = "Lena Admin") -> Person:
    """A new organisation with its first admin."""
    org_id = await accounts.create_organization(db, name)
    return await make_member(db, org_id, "admin", admin_name, org_name=name)


async def make_member(db, org_id: int, role: str, name: str = "Anna Editor", org_name: str = "Testbolaget AB") -> Person:
    email = unique_email(name.split()[0].lower())
    user_id = await accounts.create_user(db, email, name, PASSWORD)
    await accounts.add_member(db, org_id, user_id, role)
    return Person(Actor(user_id, org_id, role, name, email, "sv", org_name, "Europe/Stockholm"), email)


async def make_channel(db, admin: Person | Actor, kind: str = "mailbox", name: str = "Support",
                       colour: str = "blue") -> int:
    address = unique_email("inbox") if kind == "mailbox" else f"forum-{uuid.uuid4().hex[:10]}"
    return await channels.create_channel(db, getattr(admin, "actor", admin), kind=kind, name=name, colour=colour,
                                         address=address)


async def make_conversation(db, org_id: int, channel_id: int, subject: str = "Var är min beställning?",
                            body: str = "Hej! Jag har inte fått mitt paket.", **kw) -> int:
    """A customer's mail (through the system) or a visitor's forum post, by the channel's kind."""
    kind = (await channels.get_channel(db, org_id, channel_id))["kind"]
    customer = System(org_id) if kind == "mailbox" else Visitor(org_id)
    return await conversations.open_conversation(
        db, customer, channel_id=channel_id, subject=subject, body=body,
        customer_name=kw.pop("customer_name", "Karin Berg"),
        customer_email=kw.pop("customer_email", unique_email("karin")), **kw)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the session's CSRF token for later posts."""
    page = await client.get("/login")
    response = await client.post("/login", data={"email": email, "password": password,
                                                 "csrf_token": csrf_from(page.text)})
    assert response.status_code == 303, response.text
    return csrf_from((await client.get("/")).text)
