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

    select tokens.board, tokens.post_id, tokens.hour, 'word' as term_kind, token as term
    from tokens
    cross join {{ unnest_as('tokens.words', 'token') }}
    where length(token) >= 2 and token not in (select word from stopwords)

),

bigrams as (

    select
        tokens.board,
        tokens.post_id,
        tokens.hour,
        'bigram' as term_kind,
        concat(pair.w1, ' ', pair.w2) as term
    from tokens
    cross join {{ unnest_as(word_pairs('tokens.words'), 'pair') }}
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
