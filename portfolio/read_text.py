"""Delimited text (CSV, TSV, semicolon and pipe files): encoding, delimiter, structure limits.

Used by :func:`portfolio.read.read_table`; every problem is a :class:`PortfolioError` naming the file.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import Message, PortfolioError
from core.i18n import N_

DELIMITERS = (";", ",", "\t", "|")
_DELIMITER_NAMES = {";": N_("semicolon"), ",": N_("comma"), "\t": N_("tab"), "|": N_("pipe")}
# Mojibake left when UTF-8 text is decoded as Windows-1252 ("Ã¼" for "ü").
_MOJIBAKE = re.compile("Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|â‚¬")
_PARSER_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass(frozen=True)
class DecodedText:
    """Text of a file and how it was decoded."""

    text: str
    encoding: str
    notes: tuple[str, ...] = ()


def check_line_lengths(data: bytes, name: str, max_line_chars: int, chunk: int = 16 * 2**20) -> int:
    """Refuse a file with a line longer than ``max_line_chars`` bytes, before parsing anything.

    Scans the bytes in chunks so the check itself needs little memory. Returns the number of line
    breaks (CRLF counts twice).
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    previous_break, line_number = -1, 0
    for start in range(0, len(raw), chunk):
        part = raw[start:start + chunk]
        breaks = np.flatnonzero((part == 10) | (part == 13)) + start  # LF, CRLF and old Mac CR
        edges = np.concatenate(([previous_break], breaks))
        lengths = np.diff(edges) - 1
        if len(lengths) and lengths.max() > max_line_chars:
            _refuse_long_line(name, line_number + int(np.argmax(lengths)) + 1, int(lengths.max()), max_line_chars)
        line_number += len(breaks)
        if len(breaks):
            previous_break = int(breaks[-1])
    tail = len(raw) - previous_break - 1
    if tail > max_line_chars:
        _refuse_long_line(name, line_number + 1, tail, max_line_chars)
    return line_number


def _refuse_long_line(name: str, line: int, length: int, limit: int) -> None:
    raise PortfolioError(Message(N_(
        "{file}: line {line} is {length} characters long (the limit is {limit}); this is not a normal table row. "
        "Check that the file is a CSV export with one row per line."), file=name, line=str(line), length=length,
        limit=limit))


def decode(data: bytes, name: str) -> DecodedText:
    """Decode bytes: UTF-8 (with or without BOM) strictly, then Windows-1252, then Latin-1.

    A file that mixes UTF-8 lines with Windows-1252 lines is decoded line by line and the result
    carries a note naming the first such lines.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return DecodedText(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError as err:
            raise PortfolioError(Message(N_("{file}: starts like UTF-16 text but is not valid UTF-16 ({reason})."),
                                         file=name, reason=err.reason)) from None
    try:
        text = data.decode("utf-8-sig")
        return DecodedText(text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        pass
    mixed = _decode_mixed(data, name)
    if mixed is not None:
        return mixed
    try:
        return DecodedText(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError:
        return DecodedText(data.decode("latin-1"), "latin-1")


def _has_utf8_sequence(data: bytes, chunk: int = 4 * 2**20) -> bool:
    """Whether a UTF-8 multi-byte character could start anywhere (a lead byte C2-F4 followed by a
    continuation byte 80-BF). Without one no line can be non-ASCII UTF-8, so a Windows-1252 file need
    not be decoded line by line (~0.3-0.7 s at 100,000 rows; this check takes ~0.03 s). Chunks keep the
    positions array small whatever the bytes are."""
    raw = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, max(len(raw) - 1, 0), chunk):
        part = raw[start:start + chunk + 1]  # one byte of overlap: a pair may straddle two chunks
        lead = np.flatnonzero(part[:-1] >= 0xC2)
        follow = part[lead[part[lead] <= 0xF4] + 1]
        if ((follow >= 0x80) & (follow <= 0xBF)).any():
            return True
    return False


def _decode_mixed(data: bytes, name: str) -> DecodedText | None:
    if not _has_utf8_sequence(data):
        return None
    lines = data.split(b"\n")
    utf8_lines: list[int] = []
    legacy_lines: list[int] = []
    decoded: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8"))
            if not line.isascii():
                utf8_lines.append(number)
        except UnicodeDecodeError:
            decoded.append(line.decode("cp1252", errors="replace"))
            legacy_lines.append(number)
    if not utf8_lines or not legacy_lines:
        return None
    text = "\n".join(decoded).removeprefix("\ufeff")
    note = Message(N_("{file}: mixed text encodings: {utf8} lines are UTF-8 and {legacy} Windows-1252 (e.g. lines "
                      "{lines}); each line was decoded on its own. Check umlauts in those lines and re-export the "
                      "file as UTF-8."), file=name, utf8=len(utf8_lines), legacy=len(legacy_lines),
                   lines=", ".join(map(str, legacy_lines[:5])))
    return DecodedText(text, "mixed utf-8/cp1252", (note,))


def mojibake_note(text: str, name: str, encoding: str) -> tuple[str, ...]:
    """A note when text decoded as Windows-1252 looks like UTF-8 read the wrong way ("Ã¼")."""
    if _MOJIBAKE.search(text[:1_000_000]):
        return (Message(N_("{file}: some text looks garbled (e.g. 'Ã¼' for 'ü'): the file may mix encodings. "
                           "Re-export it as UTF-8."), file=name),)
    return ()


_SEP_LINE = re.compile(r"^\ufeff?sep=(.)[ \t]*\r?\n", re.IGNORECASE)


def split_sep_line(text: str) -> tuple[str, str | None]:
    """Remove an Excel ``sep=;`` first line; return the rest and the delimiter it names."""
    found = _SEP_LINE.match(text)
    if not found:
        return text, None
    return text[found.end():], found.group(1)


def find_header_row(raw: pd.DataFrame, look: int = 20) -> int:
    """Position of the header: the first row about as wide as the table (title rows above are skipped)."""
    head = raw.iloc[:50]
    filled = head.notna() & head.astype("str").apply(lambda col: col.str.strip() != "")
    counts = filled.sum(axis=1).to_numpy()
    if len(counts) == 0 or counts.max() <= 1:
        return 0
    needed = max(2, -(-int(counts.max()) // 2))
    for position, count in enumerate(counts[:look]):
        if count >= needed or count > 2:  # titles above a header have one or two cells
            return position
    return 0


def sniff_delimiter(text: str) -> str:
    """The delimiter among ; , tab | that splits the first lines into the same number of fields."""
    sample_lines = [line for line in text[:65_536].splitlines()[:50] if line.strip()]
    if len(text) > 65_536 and len(sample_lines) > 1:
        sample_lines = sample_lines[:-1]  # the last sampled line may be cut
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(sample_lines, delimiter=delimiter)]
        if not counts or max(counts) < 2:
            continue
        header = counts[0]
        consistency = sum(c == header for c in counts) / len(counts)
        score = (consistency, header)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def count_header_fields(text: str, delimiter: str) -> int:
    """Fields in the first non-empty line."""
    for line in text.splitlines():
        if line.strip():
            return len(next(csv.reader([line], delimiter=delimiter)))
    return 0


def parse_delimited(text: str, delimiter: str, name: str, max_columns: int = 1_000) -> pd.DataFrame:
    """Parse text into a frame of strings, one row per record (blank records kept, as empty strings).

    Rows with more fields than the header are accepted only when the extra fields are all empty
    (e.g. a trailing delimiter on every data line, as some accounting exports write), and title
    lines above the header may be narrower than the table.
    """
    try:
        return _read(text, delimiter, None)
    except pd.errors.EmptyDataError:
        raise PortfolioError(Message(N_("{file}: the file is empty (no header, no data)."), file=name)) from None
    except (pd.errors.ParserError, ValueError, csv.Error) as err:
        first_error = str(err)
    widest = _widest_record(text, delimiter)
    if widest is None or widest > max_columns:
        raise PortfolioError(Message(N_("{file}: {problem}"), file=name,
                                     problem=_explain_parser_error(first_error, delimiter)))
    try:
        wide = _read(text, delimiter, list(range(widest)))
    except (pd.errors.ParserError, ValueError, csv.Error):
        raise PortfolioError(Message(N_("{file}: {problem}"), file=name,
                                     problem=_explain_parser_error(first_error, delimiter))) from None
    header = find_header_row(wide)
    filled = (wide.iloc[header] != "").to_numpy().nonzero()[0]
    header_width = int(filled.max()) + 1 if len(filled) else 0
    if (wide.iloc[header:, header_width:] != "").to_numpy().any():
        raise PortfolioError(Message(N_("{file}: {problem}"), file=name,
                                     problem=_explain_parser_error(first_error, delimiter)))
    return wide.iloc[:, :header_width]


def _read(text: str, delimiter: str, names: list[int] | None) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep=delimiter, header=None, names=names, index_col=False, dtype=str,
                       keep_default_na=False, na_filter=False, skip_blank_lines=False,
                       engine="c", quotechar='"', low_memory=False)


def _widest_record(text: str, delimiter: str) -> int | None:
    """Most fields in any record (slow path, only after a parse error)."""
    try:
        return max((len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)), default=0)
    except csv.Error:
        return None


def _explain_parser_error(message: str, delimiter: str) -> Message:
    found = _PARSER_FIELDS.search(message)
    sep = Message(_DELIMITER_NAMES[delimiter]) if delimiter in _DELIMITER_NAMES else repr(delimiter)
    if found:
        expected, line, seen = found.groups()
        return Message(N_("line {line} has {seen} fields but the header has {expected} ({sep}-separated); "
                          "the file may be damaged, or a value contains the delimiter without quotes."),
                       line=line, seen=seen, expected=expected, sep=sep)
    if "EOF inside string" in message:
        return Message(N_("a quoted value is never closed (the file looks truncated or a quote character is "
                          "missing); check the end of the file."))
    return Message(N_("could not be read as {sep}-separated text ({detail})."), sep=sep,
                   detail=message.splitlines()[0][:200])


def truncated_last_line(text: str, delimiter: str, header_fields: int) -> bool:
    """Whether the file ends mid-row: no line break at the end and fewer fields than the header."""
    if text.endswith(("\n", "\r")):
        return False
    lines = text[-2 * 2**20:].splitlines()
    if not lines:
        return False
    last = lines[-1]
    try:
        fields = len(next(csv.reader([last], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return True
    return fields < header_fields
