"""Gate: validate a run's marts with Great Expectations (suites in `expectations/`) and
decide whether the load may go ahead."""
