-- Login ids the tenant already has in the target, with the e-mail of their client.
with

source as (
    select target_logins.*
    from {{ source('raw', 'target_logins') }} as target_logins
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select
        login_key,
        email_key
    from source
)

select * from renamed
