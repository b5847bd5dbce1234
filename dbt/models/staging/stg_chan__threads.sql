-- One row per raw thread row: the thread as one crawl saw it (`fetched`), its final copy
-- (`archived`), or the moment it left the board unarchived (`deleted`, flags unknown).
with

source as (

    select * from {{ source('chan', 'threads') }}

),

renamed as (

    select
        ---------- ids
        board,
        {{ adapter.quote('no') }} as thread_id,
        run_id,

        ---------- strings
        event,

        ---------- numerics
        replies,
        images,
        page,
        unique_ips,

        ---------- booleans (null when the row does not know: a `deleted` row)
        sticky = 1 as is_sticky,
        closed = 1 as is_closed,
        bumplimit = 1 as is_bumplimit,
        imagelimit = 1 as is_imagelimit,

        ---------- timestamps
        {{ epoch_to_timestamp('last_modified') }} as last_modified_at,
        observed_at,
        archived_at,
        deleted_at,
        {{ chan_loaded_at() }} as loaded_at,

        ---------- the board's write order (null: imported, or written before it existed)
        seq

    from source

)

select * from renamed
