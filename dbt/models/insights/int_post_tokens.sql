{{ config(**rebuild_config(['board', 'post_id'], 'post_id', 'post_datetime', keep_days=var('intermediate_keep_days'))) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime']] %}

{#-
    The tokenizer of the text marts (terms, tone): one row per post with the words of its
    subject and comment, in order. Lower case; URLs and quote links (>>123, >>>/pol/) are
    removed first; a word is a run of letters with inner apostrophes (don't, y'all).
    polit.transform.lexicon.WORD is the same pattern, for the tests.
    A table, so each post is tokenized once. Incremental: the posts of the hours that changed
    posts fall in (macro in_touched).
-#}

{%- set text = "lower(concat(coalesce(subject, ''), ' ', coalesce(comment, '')))" -%}
{%- set without_urls = regex_replace_all(text, '(?:https?://|www\\.)\\S+') -%}
{%- set without_quotes = regex_replace_all(without_urls, '>>\\S*') %}

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),
{% endif %}

posts as (

    select * from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }}
    where post_datetime is not null

)

select
    board,
    post_id,
    thread_id,
    post_datetime,
    {{ regex_matches(without_quotes, "[a-z]+(?:'[a-z]+)*") }} as words,
    loaded_at
from posts
