"""``python -m skunsup``: see :mod:`skunsup._cli`."""

from skunsup._cli import main

raise SystemExit(main())
