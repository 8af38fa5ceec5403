"""``python -m benchmarks``: run the comparisons and print the table."""

from .run import main

raise SystemExit(main())
