"""Search conversations: words in Swedish and English, case number, customer, tag, status, assignee.

One query string, as a person types it: free words (websearch syntax: "a phrase", or, -not) and
filters — `#1234`, `karin@kund.example`, `status:closed`, `assignee:me`, `assignee:anna`,
`assignee:none`, `tag:retur` (`tag:"två ord"`). Results come from every status, spam aside.

The cost stays flat at a million conversations (bench/search.py): words rank only their newest
CANDIDATES matches, filters walk conversations newest first, and the page's rows, tags and
highlights are built for the page alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from app.actors import AnyActor
from app.conversations import ROW
from app.db import Database

# Markers ts_headline puts around a match: control characters no body keeps (they are stripped
# from the text first), so after escaping, the only <mark> tags are ours and always paired.
START, STOP = "\x02", "\x03"
HEADLINE_OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter= … "

# One query for both languages: each word stemmed the Swedish way or the English way, and as a
# prefix (':*') of what the text holds, because the Swedish stemmer leaves some forms apart:
# "paketet" stays 'paketet' while "paket" is 'paket'; "leveranser" is 'leverans', "leverans"
# 'leveran'. websearch_to_tsquery parses the words ("phrases", or, -not); only its output, lexemes
# already normalised, goes through the text-to-tsquery cast that adds the prefix marks. It is
# built by a statement of its own and passed to the search as a value, so the planner sees the
# real query and its estimate picks the way: a rare word through the GIN index, a common one by
# walking the newest messages.
BUILD_TSQUERY = ("SELECT regexp_replace((websearch_to_tsquery('swedish', $1) || websearch_to_tsquery('english', $1))"
                 r"::text, '(''(?:[^'']|'''')*'')', '\1:*', 'g')")
TSQUERY = "$2::tsquery"

# Candidates: conversations with a matching message or subject, filters applied, at most
# CANDIDATES; only these are ranked. First among the newest WINDOW messages and conversations (a
# bounded walk: enough for a common word), and only when that finds less than a page, through the
# GIN indexes over everything (a rare word: its few rows are cheap). So a word in half the mail
# costs what a rare one does; a search with fewer matches than a page is ranked whole, a broad
# one among its newest matches.
CANDIDATES = 200
WINDOW = 20_000
RECENT_HITS = f"""
(SELECT m.conversation_id AS id
 FROM (SELECT conversation_id, search_vector FROM messages WHERE org_id = $1
       ORDER BY created_at DESC LIMIT {{window}}) m
 JOIN conversations v ON v.org_id = $1 AND v.id = m.conversation_id
 WHERE m.search_vector @@ {TSQUERY} AND NOT v.spam {{where}}
 LIMIT greatest(${{limit}}, {CANDIDATES}))
UNION
(SELECT v.id
 FROM (SELECT * FROM conversations WHERE org_id = $1 ORDER BY last_message_at DESC LIMIT {{window}}) v
 WHERE v.subject_vector @@ {TSQUERY} AND NOT v.spam {{where}}
 LIMIT greatest(${{limit}}, {CANDIDATES}))
"""
# With filters as well, next the newest FILTERED_WINDOW conversations the filters allow, each
# checked for the words: a filter that the newest messages rarely meet (a tag) with a common word.
FILTERED_WINDOW = 2_000
FILTERED_FIRST = f"""
SELECT v.id FROM (
    SELECT v.id, v.subject_vector FROM conversations v
    WHERE v.org_id = $1 AND NOT v.spam {{where}}
    ORDER BY v.last_message_at DESC, v.id DESC LIMIT {{filtered_window}}) v
WHERE v.subject_vector @@ {TSQUERY}
   OR EXISTS (SELECT 1 FROM messages m WHERE m.org_id = $1 AND m.conversation_id = v.id
              AND m.search_vector @@ {TSQUERY})
LIMIT greatest(${{limit}}, {CANDIDATES})
"""
# Every match through the GIN indexes (search_matches() in 0017_search_matches.sql: under row-level
# security the planner would not use them), one row per conversation, newest first.
ALL_HITS = f"""
SELECT v.id
FROM (SELECT conversation_id AS id, max(at) AS at FROM search_matches({TSQUERY}) GROUP BY conversation_id) h
JOIN conversations v ON v.org_id = $1 AND v.id = h.id
WHERE NOT v.spam {{where}}
ORDER BY h.at DESC LIMIT greatest(${{limit}}, {CANDIDATES})
"""
RANKED = f"""
found AS (
    SELECT v.id, greatest(ts_rank(v.subject_vector, {TSQUERY}), coalesce(best.rank, 0)) AS rank
    FROM conversations v
    LEFT JOIN LATERAL (
        SELECT max(ts_rank(m.search_vector, {TSQUERY})) AS rank FROM messages m
        WHERE m.org_id = $1 AND m.conversation_id = v.id AND m.search_vector @@ {TSQUERY}
    ) best ON true
    WHERE v.org_id = $1 AND v.id = ANY(${{ids}}::bigint[]) AND NOT v.spam {{where}}
    ORDER BY rank DESC, v.last_message_at DESC, v.id DESC
    LIMIT ${{limit}}
)"""

# Filters only: the newest matching conversations.
FILTERED = """
found AS (
    SELECT v.id, 0::real AS rank FROM conversations v
    WHERE v.org_id = $1 AND NOT v.spam {where}
    ORDER BY v.last_message_at DESC, v.id DESC
    LIMIT ${limit}
)"""

PAGE = ROW.format(where="AND v.id IN (SELECT id FROM found)")


def _headline(text_sql: str) -> str:
    """ts_headline of a text: Swedish rules, or English when only those find the match."""
    return f"""(SELECT CASE WHEN strpos(hl.sv, E'\\x02') > 0 THEN hl.sv ELSE hl.en END
        FROM (SELECT translate({text_sql}, E'\\x02\\x03', '') AS body) b
        CROSS JOIN LATERAL (SELECT ts_headline('swedish', b.body, {TSQUERY}, ${{options}}) AS sv,
                                   ts_headline('english', b.body, {TSQUERY}, ${{options}}) AS en) hl)"""


# The page's rows, with the subject and the best-matching message of each highlighted.
HEADLINES = f"""
SELECT r.*, {_headline("r.subject")} AS subject_headline, best.headline AS body_headline
FROM found f JOIN ({PAGE}) r ON r.id = f.id
LEFT JOIN LATERAL (
    SELECT {_headline("left(m.body_text, 20000)")} AS headline
    FROM messages m
    WHERE m.org_id = $1 AND m.conversation_id = r.id AND m.search_vector @@ {TSQUERY}
    ORDER BY ts_rank(m.search_vector, {TSQUERY}) DESC, m.created_at DESC
    LIMIT 1
) best ON true
ORDER BY f.rank DESC, r.last_message_at DESC, r.id DESC
"""
NEWEST = f"SELECT r.* FROM found f JOIN ({PAGE}) r ON r.id = f.id ORDER BY r.last_message_at DESC, r.id DESC"

# Filters, each a fixed fragment of SQL with a placeholder for its one value ({n}).
CASE_NUMBER = "AND v.case_number = ${n}"
# (each names the organisation as $1, not v.org_id: computed once, not once per conversation)
CUSTOMER_EMAIL = "AND v.customer_id = (SELECT id FROM customers WHERE org_id = $1 AND email = ${n})"
STATUS = "AND v.status = ${n}"
ASSIGNEE_ID = "AND v.assignee_id = ${n}"
UNASSIGNED = "AND v.assignee_id IS NULL"
ASSIGNEE_NAME = """AND v.assignee_id IN (
    SELECT ms.user_id FROM memberships ms JOIN users u ON u.id = ms.user_id
    WHERE ms.org_id = $1 AND u.name ILIKE ${n} ESCAPE '\\')"""
TAG = """AND v.id IN (
    SELECT ct.conversation_id FROM conversation_tags ct JOIN tags t ON t.org_id = ct.org_id AND t.id = ct.tag_id
    WHERE ct.org_id = $1 AND lower(t.name) = lower(${n}))"""

TOKEN = re.compile(r'(?P<key>[a-z]+):(?:"(?P<quoted>[^"]*)"|(?P<value>\S+))|(?P<word>"[^"]*"?|\S+)', re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s\"]+@[^@\s\"]+\.[^@\s\"]+$")
CASE = re.compile(r"^#(\d{1,18})$")


@dataclass
class Query:
    """A search as typed, taken apart."""

    words: str = ""
    case_number: int | None = None
    email: str | None = None
    statuses: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.words or self.case_number or self.email or self.statuses or self.assignees or self.tags)


def parse(text: str) -> Query:
    """Filters and free words from a search box's text."""
    query, words = Query(), []
    for match in TOKEN.finditer((text or "")[:500]):
        key, value = (match["key"] or "").lower(), match["quoted"] if match["quoted"] is not None else match["value"]
        word = match["word"]
        if key in ("status", "assignee", "tag") and value:
            {"status": query.statuses, "assignee": query.assignees, "tag": query.tags}[key].append(value.strip())
        elif word and CASE.match(word):
            query.case_number = int(CASE.match(word)[1])
        elif word and EMAIL.match(word):
            query.email = word.lower()
        else:
            words.append(match[0])
    query.words = " ".join(words).strip()
    return query


def _like(fragment: str) -> str:
    return "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def highlighted(headline: str | None) -> Markup | None:
    """ts_headline's text, escaped, with its match markers as <mark>: safe to render."""
    if not headline:
        return None
    return Markup(str(escape(headline)).replace(START, "<mark>").replace(STOP, "</mark>"))


async def search(db: Database, actor: AnyActor, text: str, *, limit: int = 50) -> list[dict]:
    """Conversations matching the query, best match first, newest activity first among equals.

    Each is a queue row (conversations.ROW) with `subject_html` and `snippet`: safe HTML whose
    matches are in <mark>.
    """
    query = parse(text)
    if query.empty:
        return []
    org_id = actor.org_id
    async with db.transaction(org_id, readonly=True) as tx:
        # Plan each search for its own values: a generic plan cannot tell a rare word from a common one.
        # No JIT: a prefix query's estimates run high enough to trigger it, for 10 ms of compiling.
        await tx.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        # $1 the organisation, $2 the tsquery (with words), the filters' values, the limit; with words
        # the candidates and the headline options last.
        args: list = [org_id]
        if query.words:
            args.append(await tx.fetchval(BUILD_TSQUERY, query.words))
        where: list[str] = []

        def add(fragment: str, value) -> None:
            args.append(value)
            where.append(fragment.format(n=len(args)))

        if query.case_number is not None:
            add(CASE_NUMBER, query.case_number)
        if query.email:
            add(CUSTOMER_EMAIL, query.email)
        for status in query.statuses:
            add(STATUS, status.lower())
        for assignee in query.assignees:
            if assignee.lower() == "me":
                add(ASSIGNEE_ID, actor.user_id or 0)
            elif assignee.lower() in ("none", "ingen"):
                where.append(UNASSIGNED)
            else:
                add(ASSIGNEE_NAME, _like(assignee))
        for tag in query.tags:
            add(TAG, tag)
        args.append(limit)
        chosen = {"where": " ".join(where), "limit": len(args), "window": WINDOW,
                  "filtered_window": FILTERED_WINDOW}
        if not query.words:  # filters only: nothing to rank or highlight
            rows = await tx.fetch(f"WITH {FILTERED.format(**chosen)} {NEWEST}", *args)
        else:
            steps = [RECENT_HITS, FILTERED_FIRST, ALL_HITS] if where else [RECENT_HITS, ALL_HITS]
            for step in steps:  # each wider than the last, until one fills a page
                ids = [r["id"] for r in await tx.fetch(step.format(**chosen), *args)]
                if len(ids) >= limit:
                    break
            sql = (f"WITH {RANKED.format(**chosen, ids=len(args) + 1)} "
                   + HEADLINES.replace("${options}", f"${len(args) + 2}"))
            rows = await tx.fetch(sql, *args, ids, HEADLINE_OPTIONS)
    results = []
    for row in rows:
        result = dict(row)
        result["subject_html"] = highlighted(result.pop("subject_headline", None))
        result["snippet"] = highlighted(result.pop("body_headline", None))
        results.append(result)
    return results
