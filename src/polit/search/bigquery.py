"""Search on BigQuery: a search index on `posts` (subject, comment) prunes the table to the
posts that hold every required word, then the exact rule runs on those: the same words as
the local index (lower case, URLs and quote links out, accents folded, the marts' word
pattern), with phrases, OR, exclusions and prefixes. Nothing runs here: the SQL is compiled
and parsed in the tests.

The index's analyzer (PATTERN_ANALYZER: runs of ASCII letters, lower case) cuts text at
least wherever the word pattern does (also at apostrophes), so a post holding a word holds
each of its letter runs as index tokens: the prefilter never drops a hit. The exception is
accents: the index cuts at é, so on BigQuery `cafe` does not find `café` (locally it does).
"""

from __future__ import annotations

from typing import Any

from polit.search import RESULT_COLUMNS, SearchResult
from polit.search.query import Query, Term
from polit.transform.lexicon import WORD
from polit.warehouse.filters import POST_COLUMNS, Filters
from polit.warehouse.read import Reader

INDEX_NAME = "posts_text"
ANALYZER = "PATTERN_ANALYZER"
ANALYZER_OPTIONS = (
    '{"patterns": ["[A-Za-z]+"], "token_filters": [{"normalizer": {"mode": "LOWER"}}]}'
)


def search_index_ddl(table: str) -> str:
    """The search index BigQuery keeps current by itself (`table`: `project.dataset.posts`)."""
    return (
        f"CREATE SEARCH INDEX IF NOT EXISTS {INDEX_NAME} ON `{table}` (subject, comment) "
        f"OPTIONS (analyzer = '{ANALYZER}', analyzer_options = '{ANALYZER_OPTIONS}')"
    )


def words_sql() -> str:
    """A post's words, as `query.normalize` and the word pattern make them."""
    text = "LOWER(CONCAT(COALESCE(subject, ''), ' ', COALESCE(comment, '')))"
    text = rf"REGEXP_REPLACE({text}, r'(?:https?://|www\.)[^\t\n\f\r ]+', ' ')"
    text = rf"REGEXP_REPLACE({text}, r'>>[^\t\n\f\r ]*', ' ')"
    text = rf"REGEXP_REPLACE(NORMALIZE({text}, NFKD), r'\p{{M}}', '')"
    return f'REGEXP_EXTRACT_ALL({text}, r"{WORD.pattern}")'


def _term_sql(term: Term, name: str, params: dict[str, Any]) -> str:
    """The condition on `joined` (the words, space-separated, with a space at each end)."""
    if term.prefix:
        params[name] = " " + " ".join(term.words)
        return f"STRPOS(joined, @{name}) > 0"
    params[name] = " " + " ".join(term.words) + " "
    return f"STRPOS(joined, @{name}) > 0"


def hits_sql(reader: Reader, query: Query, filters: Filters) -> tuple[str, dict[str, Any]]:
    """`WITH candidates AS (…), hits AS (…)`: the posts a query matches, with their score
    (in the reader's dialect but for `$` parameters; a SELECT from `hits` completes it)."""
    d = reader.dialect
    where, params = filters.where(d, POST_COLUMNS)
    required = sorted(query.required_words())
    prefilter = ""
    if required:  # the words as the index's analyzer cuts them (don't → don t)
        params["search_terms"] = " ".join(part for w in required for part in w.split("'"))
        prefilter = (
            f"SEARCH((subject, comment), $search_terms, analyzer => '{ANALYZER}', "
            f"analyzer_options => '{ANALYZER_OPTIONS}') AND "
        )
    conditions = []
    for g, group in enumerate(query.groups):
        either = [_term_sql(t, f"t{g}_{i}", params) for i, t in enumerate(group)]
        conditions.append("(" + " OR ".join(either) + ")")
    for i, term in enumerate(query.excluded):
        conditions.append(f"NOT ({_term_sql(term, f'x{i}', params)})")
    score = " + ".join(
        f"(LENGTH(joined) - LENGTH(REPLACE(joined, @t{g}_0, ''))) / LENGTH(@t{g}_0)"
        for g in range(len(query.groups))
    )
    columns = ", ".join(RESULT_COLUMNS)
    sql = f"""
        WITH candidates AS (
            SELECT {columns},
                   CONCAT(' ', ARRAY_TO_STRING({words_sql()}, ' '), ' ') AS joined
            FROM {d.table("posts")}
            WHERE {prefilter}{where}
        ),
        hits AS (
            SELECT {columns}, CAST({score} AS FLOAT64) AS score
            FROM candidates WHERE {" AND ".join(conditions)}
        )"""
    return sql, params


def search_sql(
    reader: Reader, query: Query, filters: Filters, sort: str, limit: int, offset: int
) -> tuple[str, dict[str, Any]]:
    hits, params = hits_sql(reader, query, filters)
    order = {"relevance": "score DESC, post_datetime DESC", "new": "post_datetime DESC",
             "old": "post_datetime ASC"}[sort]  # fmt: skip
    sql = f"""{hits}
        SELECT *, COUNT(*) OVER () AS total FROM hits
        ORDER BY {order} LIMIT $limit OFFSET $offset"""
    params.update(limit=limit, offset=offset)
    return reader.dialect.params(sql), params


def search_bigquery(
    reader: Reader, query: Query, filters: Filters, sort: str, limit: int, offset: int
) -> SearchResult:
    sql, params = search_sql(reader, query, filters, sort, limit, offset)
    table = reader.arrow(sql, params)
    total = table["total"][0].as_py() if table.num_rows else 0
    return SearchResult(int(total), table.drop_columns(["total"]))


def create_search_index(project: str, dataset: str, location: str | None = None) -> str:
    """Create the search index once (`polit search-index`); BigQuery then keeps it current
    as `posts` changes. Returns the DDL it ran."""
    from google.cloud import bigquery

    ddl = search_index_ddl(f"{project}.{dataset}.posts")
    where: dict[str, Any] = {"location": location} if location else {}  # unset: its own
    client = bigquery.Client(project=project, **where)
    try:
        client.query(ddl).result()
    finally:
        client.close()
    return ddl
