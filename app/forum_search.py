"""Search one forum's public threads, as visitors see them; and "similar threads" for a title being typed.

Words only, in Swedish and English (app/search.py's query building and highlighting); none of the
editors' filters. Only what the start page lists is found: open threads of this forum, never
archived, hidden or spam ones, and only in their headline and public posts, never in notes or in
what a visitor's request told us (that is not in the text searched at all).

The cost stays flat with the organisation's size (bench/forum_search.py): the forum's newest WINDOW
listed threads are looked through first along the start page's index. Only a forum larger than
that, with fewer matches there than a page, looks further: a word rare in the organisation through
the full-text indexes (search_matches()); a word common in the organisation (say "faktura", all
over the mail) in the headlines of all the forum's listed threads, but in the posts of the newest
WINDOW only: finding it in every older post would read every match in the organisation, or every
post of the forum, on each search (half a second at a million conversations).
"""
from __future__ import annotations

import re

from app.db import Database
from app.forum import Forum
from app.search import BUILD_TSQUERY, HEADLINE_OPTIONS, TSQUERY, _headline, highlighted

WINDOW = 5_000
RARE = 5_000  # matches in the whole organisation, at most, for search_matches() to be the cheaper way
CANDIDATES = 200  # ranked, at most
MAX_WORDS = 12  # of a title, for similar threads

# $1 the organisation, $2 the query (TSQUERY), $3 the forum's channel; $4 the window (RECENT)
LISTED = "v.org_id = $1 AND v.channel_id = $3 AND v.kind = 'forum' AND v.status = 'open' AND NOT v.spam"
PUBLIC_MATCH = f"""(v.subject_vector @@ {TSQUERY} OR EXISTS (
    SELECT 1 FROM messages m WHERE m.org_id = $1 AND m.conversation_id = v.id AND m.kind <> 'note'
      AND m.search_vector @@ {TSQUERY}))"""
RECENT = f"""
SELECT v.id FROM (SELECT v.id, v.subject_vector FROM conversations v WHERE {LISTED}
                  ORDER BY v.last_message_at DESC LIMIT $4) v
WHERE {PUBLIC_MATCH} LIMIT {CANDIDATES}
"""
# Every listed thread's headline, for a word too common in the organisation for ALL: the headlines are in
# the rows the start page's index walks; their posts past the window would cost a lookup per thread.
HEADLINES = f"""
SELECT v.id FROM conversations v WHERE {LISTED} AND v.subject_vector @@ {TSQUERY}
ORDER BY v.last_message_at DESC LIMIT {CANDIDATES}
"""
LARGER_THAN_WINDOW = (f"SELECT count(*) > $3 FROM (SELECT 1 FROM conversations v "
                      f"WHERE {LISTED.replace('$3', '$2')} LIMIT $3 + 1) c")
# Every match through the GIN indexes (under row-level security only search_matches() uses them).
ALL = f"""
SELECT v.id
FROM (SELECT conversation_id AS id, max(at) AS at FROM search_matches({TSQUERY}) GROUP BY conversation_id) h
JOIN conversations v ON v.org_id = $1 AND v.id = h.id
WHERE {LISTED} AND {PUBLIC_MATCH}
ORDER BY h.at DESC LIMIT {CANDIDATES}
"""
# The best of the candidates ($4), with the headline and best public post highlighted; $5 the limit.
PAGE = f"""
WITH found AS (
    SELECT v.id, v.case_number, v.subject, v.topic, v.last_message_at, best.id AS message_id,
           greatest(ts_rank(v.subject_vector, {TSQUERY}), coalesce(best.rank, 0)) AS rank
    FROM conversations v
    LEFT JOIN LATERAL (
        SELECT m.id, ts_rank(m.search_vector, {TSQUERY}) AS rank FROM messages m
        WHERE m.org_id = $1 AND m.conversation_id = v.id AND m.kind <> 'note' AND m.search_vector @@ {TSQUERY}
        ORDER BY rank DESC, m.created_at DESC LIMIT 1
    ) best ON true
    WHERE v.id = ANY($4::bigint[]) AND {LISTED}
    ORDER BY rank DESC, v.last_message_at DESC, v.id DESC LIMIT $5
)
SELECT f.id, f.case_number, f.subject, f.topic, f.last_message_at, {_headline("f.subject")} AS subject_headline,
       (SELECT {_headline("left(m.body_text, 20000)")} FROM messages m
        WHERE m.org_id = $1 AND m.id = f.message_id) AS body_headline
FROM found f ORDER BY f.rank DESC, f.last_message_at DESC, f.id DESC
""".replace("${options}", "$6")


async def search(db: Database, forum: Forum, text: str, *, limit: int = 20) -> list[dict]:
    """The forum's listed threads matching the words (websearch syntax), best first; each with safe HTML
    `subject_html` and `snippet` whose matches are in <mark>."""
    words = (text or "").strip()[:200]
    if not words:
        return []
    async with db.transaction(forum.org_id, readonly=True) as tx:
        # as in app/search.py: each search planned for its own words, no JIT for a short query
        await tx.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        query = await tx.fetchval(BUILD_TSQUERY, words)
        if not query:  # only stop words
            return []
        args = (forum.org_id, query, forum.channel_id)
        ids = [r["id"] for r in await tx.fetch(RECENT, *args, WINDOW)]
        if len(ids) < limit and await tx.fetchval(LARGER_THAN_WINDOW, forum.org_id, forum.channel_id, WINDOW):
            common = await tx.fetchval("SELECT search_matches_more_than($1::tsquery, $2)", query, RARE)
            ids = list(dict.fromkeys(ids + [r["id"] for r in await tx.fetch(HEADLINES if common else ALL, *args)]))
        rows = await tx.fetch(PAGE, *args, ids, limit, HEADLINE_OPTIONS) if ids else []
    return [{**row, "subject_html": highlighted(row["subject_headline"]), "snippet": highlighted(row["body_headline"])}
            for row in rows]


WORD = re.compile(r"\w+")


async def similar(db: Database, forum: Forum, title: str, *, limit: int = 5) -> list[dict]:
    """Listed threads sharing words with a title being typed (any of them; more shared ranks higher)."""
    words = [w for w in WORD.findall(title or "") if w.lower() != "or"][:MAX_WORDS]
    if not words or len("".join(words)) < 3:
        return []
    return await search(db, forum, " or ".join(words), limit=limit)
