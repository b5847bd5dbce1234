{{ config(**rebuild_config(['board', 'post_id'], 'post_id', 'post_datetime')) }}
{%- set touched_inputs = [[ref('int_post_tokens'), 'post_datetime']] %}

{#-
    One row per post: its tone, from VADER's lexicon (seed vader_lexicon): the valences of
    its words summed and normalized as VADER does, s / sqrt(s^2 + 15), in [-1, 1]. A post
    with no word of the lexicon scores 0. VADER's grammar rules (negation, "but",
    intensifiers, capitals, punctuation) are not applied: this is its lexicon score.
    Incremental: the posts of the hours that changed tokens fall in.
-#}

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),
{% endif %}

tokens as (

    select * from {{ in_touched(ref('int_post_tokens'), 'post_datetime', inputs=touched_inputs) }}

),

valences as (

    select
        exploded.board,
        exploded.post_id,
        -- the lexicon's valences have one decimal: rounding makes the sum exact, whatever
        -- order the rows come in (an incremental run and a full refresh agree to the bit)
        round(sum(lexicon.valence), 6) + 0.0 as valence  -- + 0.0: no negative zero
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
    coalesce(valences.valence / sqrt(valences.valence * valences.valence + 15), 0) as tone,
    tokens.loaded_at
from tokens
left join valences
    on tokens.board = valences.board and tokens.post_id = valences.post_id
