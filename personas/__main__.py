"""``python -m personas ...``: the one command line over the library."""
from personas.cli import main

raise SystemExit(main())
