-- Files posted per hour by type (extension), with their bytes.
select
    board,
    {{ hour_of('post_datetime') }} as hour,
    lower(file_extension) as file_extension,
    count(*) as images,
    sum(file_size) as bytes
from {{ ref('posts') }}
where file_extension is not null and post_datetime is not null
group by 1, 2, 3
