-- E-mail addresses that already have an account in the target (any tenant).
with

source as (
    select target_accounts.*
    from {{ source('raw', 'target_accounts') }} as target_accounts
    inner join {{ source('raw', 'current_run') }} using (run_id)
),

renamed as (
    select distinct
        email_key
    from source
)

select * from renamed
