"""Fixtures shared by the pipeline tests."""

from pipeline.tests.imports_helpers import world  # noqa: F401  (the import tests' two teams)
