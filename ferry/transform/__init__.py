"""Transform: run the dbt project in-process on the warehouse (raw.* -> marts.*)."""
