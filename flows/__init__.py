"""Prefect flows only: each wires plain functions of the `ferry` package into tasks."""
