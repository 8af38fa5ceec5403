"""``python -m komet_async``: the same command line as ``komet-async``."""

from .cli import main

if __name__ == "__main__":
    main()
