"""komet_async test suite."""
