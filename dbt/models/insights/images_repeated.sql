-- Files posted more than once, by md5: how often, in how many threads, first and last time.
-- `example_file_name` (untrusted text) is the smallest of the names they were posted under.
select
    board,
    file_md5,
    count(*) as times_posted,
    count(distinct thread_id) as threads,
    min(post_datetime) as first_posted_at,
    max(post_datetime) as last_posted_at,
    max(lower(file_extension)) as file_extension,
    min(file_name) as example_file_name
from {{ ref('posts') }}
where file_md5 is not null
group by 1, 2
having count(*) >= 2
