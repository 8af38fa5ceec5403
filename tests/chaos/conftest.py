"""Shows the soak's figures in pytest's terminal summary, whatever ``-s`` says."""

from __future__ import annotations

import pytest

#: Where the soak fixture leaves its table of figures for the summary.
FIGURES = pytest.StashKey[str]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the figures of the soak that ran, if one did."""
    table = config.stash.get(FIGURES, None)
    if table is not None:
        terminalreporter.write_sep("-", "chaos soak figures")
        terminalreporter.write_line(table)
