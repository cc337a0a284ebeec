"""Estimators used by the endpoint modules: thin, tested wrappers around maintained libraries."""
