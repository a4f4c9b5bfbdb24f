"""xueji (学籍): enrolment-status integrity checks for K-12 education bureaus."""

__version__ = "0.1.0"
