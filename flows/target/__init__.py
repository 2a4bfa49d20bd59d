"""The target booking database."""
