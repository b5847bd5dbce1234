{{ config(materialized='view') }}

{#-
    The tokenizer of the text marts (terms, tone): one row per post with the words of its
    subject and comment, in order. Lower case; URLs and quote links (>>123, >>>/pol/) are
    removed first; a word is a run of letters with inner apostrophes (don't, y'all).
    polit.transform.lexicon.WORD is the same pattern, for the tests.
-#}

{%- set text = "lower(concat(coalesce(subject, ''), ' ', coalesce(comment, '')))" -%}
{%- set without_urls = regex_replace_all(text, '(?:https?://|www\\.)\\S+') -%}
{%- set without_quotes = regex_replace_all(without_urls, '>>\\S*') %}

select
    board,
    post_id,
    thread_id,
    post_datetime,
    {{ regex_matches(without_quotes, "[a-z]+(?:'[a-z]+)*") }} as words
from {{ ref('posts') }}
where post_datetime is not null
