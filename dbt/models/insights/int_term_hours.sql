{{ config(**rebuild_config(['board', 'hour'], 'posts', 'hour', keep_days=var('intermediate_keep_days'))) }}
{%- set touched_inputs = [[ref('int_post_tokens'), 'post_datetime']] %}

{#-
    Every term per hour of posting: its mentions, and the posts that use it (each post counts
    once per term). Terms are words (two letters or more) and bigrams (two adjacent words,
    not one word twice), neither of them a stopword (seed stopwords).
    terms_daily and terms_trending read this, not the per-post tokens.
    Incremental: the hours of changed tokens, each rebuilt whole (a text that changed can
    take a term out of its hour).
-#}

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),

groups as (

    select board, bucket as hour from touched

),
{% endif %}

tokens as (

    select board, post_id, {{ hour_of('post_datetime') }} as hour, words, loaded_at
    from {{ in_touched(ref('int_post_tokens'), 'post_datetime', inputs=touched_inputs) }}

),

-- the newest change among all posts of the hour, terms or not (the cursor of the marts below)
hours as (

    select board, hour, max(loaded_at) as loaded_at
    from tokens
    group by 1, 2

),

stopwords as (

    select word from {{ ref('stopwords') }}

),

words as (

    select board, post_id, hour, 'word' as term_kind, token as term
    from {{ explode('tokens', 'words', 'token', ['board', 'post_id', 'hour']) }} as words
    where length(token) >= 2 and token not in (select word from stopwords)

),

bigrams as (

    select board, post_id, hour, 'bigram' as term_kind, concat(pair.w1, ' ', pair.w2) as term
    from {{ explode('tokens', word_pairs('words'), 'pair', ['board', 'post_id', 'hour']) }}
        as pairs
    where pair.w1 != pair.w2
        and pair.w1 not in (select word from stopwords)
        and pair.w2 not in (select word from stopwords)

),

post_terms as (

    select board, post_id, hour, term_kind, term, count(*) as mentions
    from (select * from words union all select * from bigrams) as terms
    group by 1, 2, 3, 4, 5

),

final as (

    select
        post_terms.board,
        post_terms.hour,
        post_terms.term_kind,
        post_terms.term,
        sum(post_terms.mentions) as mentions,
        count(*) as posts,
        max(hours.loaded_at) as loaded_at
    from post_terms
    inner join hours
        on post_terms.board = hours.board and post_terms.hour = hours.hour
    group by 1, 2, 3, 4

)

{{ rebuild_rows('final', ['board', 'hour'], 'groups') }}
