"""Small portfolio files built inside the tests (no fixtures on disk)."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pandas as pd

GERMAN_CSV = (
    "Kontonummer;Offener Betrag;Verzugstage;Straße;Überschuldung;Branche\n"
    "000101;1.234,56;12;Hauptstraße 1;ja;Energie\n"
    "000102;99,50;0;Bahnhofstraße 7;nein;Telekommunikation\n"
    "000103;12.500,00;365;Gartenweg 3;nein;Energie\n"
    "000104;0,99;45;Lindenallee 9;ja;Versandhandel\n"
)


def english_rows(n: int = 30) -> list[dict]:
    """Rows of a clean English portfolio."""
    return [{"account_id": f"A{i:04d}", "balance": 100.0 + 7 * i, "days_past_due": i % 90,
             "sector": ["energy", "telco", "retail"][i % 3], "contacts": i % 5} for i in range(n)]


def csv_bytes(rows: list[dict], sep: str = ",", encoding: str = "utf-8") -> bytes:
    return pd.DataFrame(rows).to_csv(sep=sep, index=False).encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    """An XLSX with the given sheets (name -> rows, first row the header), written by openpyxl."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def replace_in_zip(data: bytes, member: str, content: bytes) -> bytes:
    """The same ZIP with one member's content replaced."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == member else source.read(info.filename))
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
