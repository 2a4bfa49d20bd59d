-- Each distinct phone cell of the current run and its E.164 form (NULL when invalid).
with

source as (
    select phone_numbers.*
    from {{ source('raw', 'phone_numbers') }} as phone_numbers
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        phone_raw,
        phone_e164
    from source
)

select * from renamed
