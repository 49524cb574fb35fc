"""Fill German translations from a JSON file into ``locale/de/LC_MESSAGES/messages.po``, after a fresh extract.

    python scripts/po_fill.py translations.json [more.json ...]

Each JSON file maps an English msgid to its German text; a plural message maps its singular msgid to a
list ``[singular, plural]``. The script first runs ``core.i18n.extract`` (new messages come in empty,
vanished ones go), then sets every msgstr it has a translation for and reports what is still empty.
It holds an exclusive lock on ``locale/.po.lock`` for the whole read-modify-write, so several people
(or helper sessions) can fill their own messages at the same time without losing each other's.
"""
from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core import i18n  # noqa: E402


def fill(files: list[Path]) -> int:
    from babel.messages.pofile import read_po, write_po

    wanted: dict[str, object] = {}
    for file in files:
        wanted.update(json.loads(file.read_text(encoding="utf-8")))
    lock = REPO / "locale" / ".po.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        po = REPO / "locale" / "de" / "LC_MESSAGES" / "messages.po"
        i18n.extract()
        with po.open("rb") as stream:
            catalog = read_po(stream, locale="de", domain=i18n.DOMAIN)
        filled = 0
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            if key not in wanted:
                continue
            value = wanted[key]
            message.string = tuple(value) if isinstance(message.id, tuple) else str(value)
            message.flags.discard("fuzzy")
            filled += 1
        empty = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
        tmp = po.with_suffix(".po.tmp")
        with tmp.open("wb") as stream:
            write_po(stream, catalog, width=100)
        tmp.replace(po)
        i18n.compile_catalogues()
    print(f"filled {filled}; still empty {len(empty)}")
    for message_id in empty[:200]:
        print("  empty:", repr(message_id))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(fill([Path(arg) for arg in sys.argv[1:]]))
