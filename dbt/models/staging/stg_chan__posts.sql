-- One row per raw post row: a version of a post, or a tombstone (only the key and
-- `deleted_at` set). Renamed to the seed's names; no filtering, no aggregation.
with

source as (

    select * from {{ source('chan', 'posts') }}

),

renamed as (

    select
        ---------- ids
        board,
        {{ lake_file() }} as lake_file,  -- the lake file of the row (DuckDB; null on BigQuery)
        {{ adapter.quote('no') }} as post_id,
        thread_no as thread_id,
        id as poster_id,
        version,

        ---------- strings
        {{ html_text('name') }} as poster_name,
        trip as tripcode,
        email,
        {{ html_text('sub') }} as subject,
        text as comment,
        com as comment_html,
        {{ html_text('filename') }} as file_name,
        ext as file_extension,
        md5 as file_md5,
        capcode,
        country,
        {{ html_text('country_name') }} as country_name,
        board_flag as flag,
        {{ html_text('flag_name') }} as flag_name,
        troll_country,
        {{ chan_url('board', 'thread_no', adapter.quote('no')) }} as url,

        ---------- numerics
        fsize as file_size,
        w as width,
        h as height,
        quotes,
        urls as links,
        -- Perspective API scores of imported datasets (polit import ndjson); null otherwise
        toxicity,
        severe_toxicity,
        inflammatory,
        profanity,
        insult,
        obscene,
        spam,

        ---------- booleans
        ({{ adapter.quote('no') }} = thread_no or coalesce(resto = 0, false)) as is_op,
        (tim is not null or filename is not null) as has_file,
        coalesce(filedeleted = 1, false) as is_file_deleted,
        coalesce(spoiler = 1, false) as is_spoiler,
        deleted_at is not null as is_tombstone,

        ---------- timestamps
        {{ epoch_to_timestamp('time') }} as post_datetime,
        observed_at,
        deleted_at,
        {{ chan_loaded_at() }} as loaded_at,

        ---------- the board's write order (null: imported, or written before it existed)
        seq

    from source

)

select * from renamed
