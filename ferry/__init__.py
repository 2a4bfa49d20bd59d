"""Ferry: migrate a business's clients between booking systems as an audited batch job."""

__version__ = "0.1.0"
