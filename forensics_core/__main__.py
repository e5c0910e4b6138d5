"""``python -m forensics_core`` is the same as the ``tamper-workbench`` command."""

from forensics_core.cli import main

raise SystemExit(main())
