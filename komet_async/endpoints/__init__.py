"""Komet Sales resources: one module per resource, thin keyword-only coroutines."""
