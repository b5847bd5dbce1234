{#-
    One row per post: its tone, from VADER's lexicon (seed vader_lexicon): the valences of
    its words summed and normalized as VADER does, s / sqrt(s^2 + 15), in [-1, 1]. A post
    with no word of the lexicon scores 0. VADER's grammar rules (negation, "but",
    intensifiers, capitals, punctuation) are not applied: this is its lexicon score.
-#}

with

tokens as (

    select * from {{ ref('int_post_tokens') }}

),

valences as (

    select
        exploded.board,
        exploded.post_id,
        sum(lexicon.valence) as valence
    from {{ explode('tokens', 'words', 'token', ['board', 'post_id']) }} as exploded
    inner join {{ ref('vader_lexicon') }} as lexicon
        on lexicon.word = exploded.token
    group by exploded.board, exploded.post_id

)

select
    tokens.board,
    tokens.post_id,
    tokens.thread_id,
    tokens.post_datetime,
    coalesce(valences.valence / sqrt(valences.valence * valences.valence + 15), 0) as tone
from tokens
left join valences
    on tokens.board = valences.board and tokens.post_id = valences.post_id
