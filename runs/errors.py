"""The one error class of run folders."""
from __future__ import annotations

from core.errors import UserError


class RunFolderError(UserError):
    """A run folder is missing, altered, unsigned or unsafe; the message says which and what to do."""
