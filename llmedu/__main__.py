"""Entry point of ``python -m llmedu``; see :mod:`llmedu.cli`."""

from llmedu.cli import main

raise SystemExit(main())
