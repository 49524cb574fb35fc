"""``python -m personas ...``: the one command line over the library."""
from application.cli import main

raise SystemExit(main())
