"""Report: the run summary, rejects.csv, report.html and the run history."""
