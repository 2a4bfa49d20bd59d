"""The Great Expectations suites that gate a load, built in code: one module per gated
mart, so a reviewer reads each rule and its check name in one place.

Every expectation carries `meta.check`, the name the run summary and report show.
"""
