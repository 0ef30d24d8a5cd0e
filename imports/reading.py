"""Reading an import's file: pure, no database, tested on bytes.

- CSV: the encoding (UTF-8 with or without BOM, Windows-1252, UTF-16 as Excel's
  "Unicode text" writes it) and the delimiter (, ; tab |) are detected or chosen.
  UTF-8 is checked over the whole file, incrementally, so a file that is not UTF-8
  past its first kilobytes is still read as Windows-1252 and never fails half way
  (a statistical detector such as charset-normalizer is not needed to choose among
  three encodings: a BOM or UTF-8's validity decides). Records are parsed by
  Python's csv module (RFC 4180: doubled quotes, delimiters and line breaks inside
  quotes), each with the source line it starts on.
- XLSX: streamed with openpyxl's read-only mode, one chosen sheet (the first by
  default). A workbook whose XML declares a DTD or entities is refused before openpyxl
  parses it (entity-expansion bombs), and so is one that unpacks to more than
  XLSX_MAX_UNPACKED bytes, or a part of which unpacks past XLSX_RATIO_FROM bytes
  at more than XLSX_MAX_RATIO times its packed size (zip bombs: a real workbook's
  XML packs about 15 to 1), all read from the zip's directory before anything is
  unpacked.
- CSV lines are read at most MAX_LINE characters at a time, so one enormous line
  (a 100 MB cell) is refused without ever being held in memory.
- A header row and blank records (no cell holding anything) are not rows. Limits
  (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS) are the caller's: `count_rows` counts without
  keeping anything, so a file over the limit is refused before a row is written.
"""

import codecs
import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from defusedxml import DefusedXmlException

from workspaces.errors import KithError

ENCODING_CHOICES = [
    ("", "Detect"),
    ("utf-8", "UTF-8"),
    ("cp1252", "Windows-1252 (Western European)"),
    ("utf-16", "UTF-16"),
]
DELIMITER_CHOICES = [
    ("", "Detect"),
    (",", "Comma ( , )"),
    (";", "Semicolon ( ; )"),
    ("\t", "Tab"),
    ("|", "Pipe ( | )"),
]
ENCODINGS = [value for value, _ in ENCODING_CHOICES if value]
DELIMITERS = [value for value, _ in DELIMITER_CHOICES if value]
FORMATS = ("csv", "xlsx")

SAMPLE_BYTES = 64 * 1024  # what the delimiter and the header are read from
READ_BYTES = 1024 * 1024
XLSX_MAX_UNPACKED = 2 * 1024**3  # a workbook's XML, unpacked
XLSX_RATIO_FROM = 100 * 1024**2  # a part this big unpacked must not be a zip bomb:
XLSX_MAX_RATIO = 100  # at most this many times its packed size
# A cell bigger than this is not contact data; the csv module's own limit is 128 kB.
MAX_CELL = 100_000
csv.field_size_limit(MAX_CELL)
MAX_LINE = 40 * MAX_CELL  # a record's line, in characters
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")


DTD_REFUSED = (
    "This workbook declares a DTD or XML entities, which we refuse (a defence against "
    "entity-expansion attacks). Save it again from your spreadsheet program, or export "
    "it as CSV."
)


class FileRefused(KithError):
    """The file cannot be read at all, or is over a limit: nothing of it is imported."""

    code = "file_refused"


@dataclass
class Detected:
    format: str
    encoding: str = ""
    delimiter: str = ""
    sheets: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"encoding": self.encoding, "delimiter": self.delimiter, "sheets": self.sheets}


@dataclass
class Row:
    line: int  # where it starts in the source: a CSV line, an XLSX row number
    cells: list  # text for CSV; text, numbers, dates and booleans for XLSX


# ---------------------------------------------------------------- detecting


def detect_format(name: str, head: bytes) -> str:
    lower = (name or "").lower()
    zipped = head.startswith(b"PK\x03\x04")
    if zipped and not lower.endswith((".csv", ".txt", ".tsv")):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise FileRefused(
            "This is an old Excel file (.xls): save it as .xlsx or CSV and upload that.",
            field="upload",
        )
    if lower.endswith(".xlsx"):
        raise FileRefused("This file is not a valid Excel (.xlsx) workbook.", field="upload")
    if b"\x00" in head[:4096] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if _looks_utf16(head[:4096]):
            raise FileRefused(
                "This file is UTF-16 text without the mark that says so (a byte order "
                "mark): save it as “CSV UTF-8” and upload that.",
                field="upload",
            )
        raise FileRefused(
            "This file is not text: upload a CSV or an Excel (.xlsx) file.", field="upload"
        )
    return "csv"


def _looks_utf16(head: bytes) -> bool:
    """Mostly ASCII text as UTF-16: a zero byte every other byte, at even or odd places."""
    pairs = len(head) // 2
    if pairs < 2:
        return False
    for zero_at in (0, 1):
        zeros = head[zero_at::2][:pairs].count(0)
        others = head[1 - zero_at :: 2][:pairs].count(0)
        if zeros >= 0.9 * pairs and others == 0:
            return True
    return False


def detect(file, name: str) -> Detected:
    """How to read `file` (a binary file object, rewound after): its format, and the
    encoding and delimiter of a CSV or the sheets of a workbook."""
    file.seek(0)
    head = file.read(SAMPLE_BYTES)
    file.seek(0)
    fmt = detect_format(name, head)
    if fmt == "xlsx":
        return Detected("xlsx", sheets=xlsx_sheets(file))
    encoding = detect_encoding(file)
    file.seek(0)
    delimiter = detect_delimiter(_decode_sample(head, encoding))
    return Detected("csv", encoding=encoding, delimiter=delimiter)


# Bytes Windows-1252 leaves unassigned: a file holding them is not Windows-1252 (they
# are everywhere in Shift-JIS, GBK, Big5 and the like).
_NOT_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH = re.compile(rb"[\x80-\xff]")


def detect_encoding(file) -> str:
    """ "utf-8" when the whole file decodes as UTF-8 (with or without BOM), "utf-16"
    with its BOM, else "cp1252", the other encoding offered. FileRefused when it is
    none of them: bytes Windows-1252 does not have (Shift-JIS and its like), or mostly
    UTF-8 with lines in another encoding (mixed)."""
    file.seek(0)
    head = file.read(READ_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = head
    try:
        while chunk:
            decoder.decode(chunk)
            chunk = file.read(READ_BYTES)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    finally:
        file.seek(0)
    # Not UTF-8: of the encodings offered, Windows-1252 is the one left (a superset of
    # Latin-1's letters), unless the file says otherwise.
    try:
        _check_cp1252(file)
    finally:
        file.seek(0)
    return "cp1252"


def _check_cp1252(file) -> None:
    utf8 = other = 0
    file.seek(0)
    while chunk := file.read(READ_BYTES) + file.readline(SAMPLE_BYTES):  # whole lines
        rest = _UTF8_SEQUENCE.sub(b"", chunk)
        utf8 += (len(chunk) - len(rest)) // 2
        other += len(_HIGH.findall(rest))
        if _NOT_CP1252.search(rest):
            raise FileRefused(
                "This file is neither UTF-8 nor Windows-1252 (perhaps Shift-JIS or another "
                "Asian encoding): save it as “CSV UTF-8” and upload that.",
                field="upload",
            )
    if utf8 >= other:
        raise FileRefused(
            f"This file is UTF-8 except line {_first_line_not_utf8(file)}: it mixes two "
            "encodings. Save it as “CSV UTF-8” and upload that.",
            field="upload",
        )


def _first_line_not_utf8(file) -> int:
    file.seek(0)
    number = 0
    while line := file.readline(READ_BYTES):
        number += line.endswith(b"\n") or len(line) < READ_BYTES
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return max(number, 1)
    return max(number, 1)


def _decode_sample(head: bytes, encoding: str) -> str:
    text = head.decode(_codec(encoding), errors="replace")
    if len(head) >= SAMPLE_BYTES:  # cut where the sample ends: drop the partial record
        text = text[: text.rfind("\n") + 1] or text
    return text


def detect_delimiter(sample: str) -> str:
    """The candidate that splits the sample's records into the most consistent number
    of cells (more than one); "," when none does."""
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = []
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            for record in reader:
                if any(cell.strip() for cell in record):
                    counts.append(len(record))
                if len(counts) >= 50:
                    break
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def xlsx_sheets(file) -> list[str]:
    check_xlsx(file)
    workbook = _open_workbook(file)
    try:
        return [sheet.title for sheet in workbook.worksheets]
    finally:
        workbook.close()
        file.seek(0)


def check_xlsx(file) -> None:
    """Refuse a workbook that is not a zip, unpacks too big, or whose XML declares a
    DTD or entities (looked for in each part's prolog, before its root element)."""
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRefused(
            "This file is not a valid Excel (.xlsx) workbook.", field="upload"
        ) from None
    try:
        members = archive.infolist()
        if sum(member.file_size for member in members) > XLSX_MAX_UNPACKED or any(
            member.file_size > XLSX_RATIO_FROM
            and member.file_size > XLSX_MAX_RATIO * max(member.compress_size, 1)
            for member in members
        ):
            raise FileRefused(
                "This workbook unpacks to more than we read (it looks like a zip bomb). "
                "Save it again from your spreadsheet program, or export it as CSV.",
                field="upload",
            )
        for member in members:
            if member.filename.lower().endswith((".xml", ".rels", ".vml")):
                _check_prolog(archive, member)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        raise FileRefused("This Excel (.xlsx) workbook is damaged.", field="upload") from None
    finally:
        archive.close()
        file.seek(0)


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    seen = b""
    with archive.open(member) as part:
        while chunk := part.read(SAMPLE_BYTES):
            seen = seen[-64:] + chunk
            # Comments and processing instructions come before the root too.
            text = re.sub(rb"<!--.*?-->|<\?.*?\?>", b"", seen, flags=re.DOTALL)
            if _DTD.search(text):
                raise FileRefused(DTD_REFUSED, field="upload")
            if _ROOT_ELEMENT.search(text):
                return


def _open_workbook(file):
    import openpyxl

    file.seek(0)
    try:
        return openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        if _defused(exc):  # a DTD the prolog check missed (a UTF-16 part)
            raise FileRefused(DTD_REFUSED, field="upload") from None
        raise FileRefused(
            f"This Excel (.xlsx) workbook cannot be read: {type(exc).__name__}.", field="upload"
        ) from None


def _defused(exc: BaseException | None) -> bool:
    """Whether defusedxml refused a DTD or an entity somewhere down the exception's
    chain (openpyxl wraps what its parser raised)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DefusedXmlException):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


# ---------------------------------------------------------------- reading


def _codec(encoding: str) -> str:
    # A UTF-8 BOM is not part of the first cell.
    return "utf-8-sig" if encoding in ("", "utf-8") else encoding


def iter_records(file, *, format: str, encoding="", delimiter="", sheet="") -> Iterator[Row]:
    """Every non-blank record of the file, header included, with its source line.
    `file` is a binary file object; it is read as it goes (memory stays flat)."""
    if format == "xlsx":
        yield from _xlsx_records(file, sheet)
    else:
        yield from _csv_records(file, encoding, delimiter)


def _csv_records(file, encoding: str, delimiter: str) -> Iterator[Row]:
    file.seek(0)
    if encoding not in ENCODINGS:
        encoding = detect_encoding(file)
    if delimiter not in DELIMITERS:
        delimiter = detect_delimiter(_decode_sample(file.read(SAMPLE_BYTES), encoding))
        file.seek(0)
    text = io.TextIOWrapper(file, encoding=_codec(encoding), errors="replace", newline="")
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter, strict=False)
    try:
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise FileRefused(
                        f"Line {start} of this file has a cell longer than {MAX_CELL:,} "
                        "characters, which is not contact data: nothing was imported.",
                        field="upload",
                    ) from None
                raise FileRefused(
                    f"Line {start} of this file cannot be read as CSV: {exc}.", field="upload"
                ) from None
            if any(cell.strip() for cell in record):
                yield Row(start, record)
    finally:
        # Leave the caller's file open (it may be closed already when a reader that
        # stopped early is collected).
        with contextlib.suppress(ValueError):
            text.detach()


def _bounded_lines(text) -> Iterator[str]:
    """The text's lines (ends kept, as the csv module wants them), refusing a line
    longer than MAX_LINE once that many characters are read, not once all of it is."""
    number = 0
    while line := text.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise FileRefused(
                f"Line {number} of this file is longer than {MAX_LINE:,} characters, "
                "which is not contact data: nothing was imported.",
                field="upload",
            )
        yield line


def _xlsx_records(file, sheet: str) -> Iterator[Row]:
    check_xlsx(file)
    workbook = _open_workbook(file)
    try:
        names = [ws.title for ws in workbook.worksheets]
        if not names:
            raise FileRefused("This workbook has no sheet.", field="sheet")
        if sheet and sheet not in names:
            raise FileRefused(f"This workbook has no sheet “{sheet}”.", field="sheet")
        worksheet = workbook[sheet or names[0]]
        worksheet.reset_dimensions()  # the stored size can be wrong: read every row
        line = 0  # a sheet that fails before its first row
        try:
            for line, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                cells = list(values)
                while cells and _blank(cells[-1]):
                    cells.pop()
                if cells:
                    yield Row(line, cells)
        except FileRefused:
            raise
        except Exception as exc:
            if _defused(exc):
                raise FileRefused(DTD_REFUSED, field="upload") from None
            raise FileRefused(
                f"This workbook cannot be read past its row {line}: {type(exc).__name__}.",
                field="upload",
            ) from None
    finally:
        workbook.close()


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value) -> str:
    """A cell as text: what a person sees in it (and what the error file writes)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------- tables


@dataclass
class Table:
    """How to read one import's file: the columns, then the data rows."""

    format: str
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    has_header: bool = True

    def records(self, file) -> Iterator[Row]:
        return iter_records(
            file,
            format=self.format,
            encoding=self.encoding,
            delimiter=self.delimiter,
            sheet=self.sheet,
        )

    def columns(self, file, *, scan: int = 100) -> list[str]:
        """The header's cells (blank ones named by their position), or "Column 1",
        "Column 2"... as many as the widest of the first `scan` records."""
        records = self.records(file)
        if self.has_header:
            first = next(records, None)
            if first is None:
                return []
            titles = [cell_text(c).strip() for c in first.cells]
            return [title or f"Column {i}" for i, title in enumerate(titles, start=1)]
        width = 0
        for number, row in enumerate(records):
            width = max(width, len(row.cells))
            if number + 1 >= scan:
                break
        return [f"Column {i}" for i in range(1, width + 1)]

    def rows(self, file, *, skip: int = 0) -> Iterator[Row]:
        """The data rows (the header is not one), after skipping `skip` of them."""
        records = self.records(file)
        if self.has_header:
            next(records, None)
        for number, row in enumerate(records):
            if number >= skip:
                yield row

    def count_rows(self, file, *, limit: int) -> int:
        """How many data rows; FileRefused as soon as there are more than `limit`."""
        count = 0
        for count, _ in enumerate(self.rows(file), start=1):
            if count > limit:
                raise FileRefused(
                    f"This file has more than {limit:,} rows, the most one import takes. "
                    "Split it into smaller files.",
                    field="upload",
                )
        return count
