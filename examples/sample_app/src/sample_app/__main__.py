"""Entry point: ``python -m sample_app`` and the ``sample-app`` console script."""

import sys

from sample_app.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
