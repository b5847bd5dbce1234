{{ config(materialized='view') }}

{#-
    One row per (post, term) with its mentions in the post. Terms are words (two letters or
    more) and bigrams (two adjacent words), neither of them a stopword (seed stopwords).
-#}

with

tokens as (

    select board, post_id, {{ hour_of('post_datetime') }} as hour, words
    from {{ ref('int_post_tokens') }}

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
    where pair.w1 not in (select word from stopwords)
        and pair.w2 not in (select word from stopwords)

),

terms as (

    select * from words
    union all
    select * from bigrams

)

select board, post_id, hour, term_kind, term, count(*) as mentions
from terms
group by 1, 2, 3, 4, 5
