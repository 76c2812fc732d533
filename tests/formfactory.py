"""Referral forms and council letters written by the tests: PDF (fpdf2), Word .docx (python-docx) and
OpenDocument .odt (the ZIP and XML written by hand), in the layouts referral forms come in.

A form is a list of items: ("heading", text), ("rows", [(label, value), ...]) as a two-column table,
("lines", [(label, value), ...]) as "Label: value" lines, ("ticks", label, [(option, ticked), ...]),
("text", paragraph), ("columns", [header cells], [value cells]) as a table with a header row; and
("below", [(label, value), ...]) as each answer on the line below its label, ("ticks", label, options,
style) with its own box style, ("yesno", label, "Yes"|"No") as "Yes / No (delete as appropriate)" (Word:
the other word struck through; PDF and .odt: the other word deleted), ("nested", [(heading, rows), ...])
as a Word table whose cells hold tables, ("twocol", [left lines], [right lines]) as a PDF page in two
text columns.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from docx import Document
from docx.oxml import parse_xml
from fpdf import FPDF

Item = tuple[Any, ...]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
OUR_HEADER = "Mediation Desk · 249 Birmingham Road, Sutton Coldfield B72 1EA · 0333 006 2835"


def _tick_text(options: list[tuple[str, bool]], style: str) -> str:
    if style == "lower":
        return "  ".join(f"[{'x' if on else ' '}] {opt}" for opt, on in options)
    if style == "ballot":
        return "  ".join(f"{'☑' if on else '☐'} {opt}" for opt, on in options)
    if style == "yn":
        return "   ".join(f"{opt} (Y/N) {'Y' if on else 'N'}" for opt, on in options)
    if style == "brackets":
        return "  ".join(f"[{'X' if on else ' '}] {opt}" for opt, on in options)
    if style == "after":
        return "   ".join(f"{opt} {'☒' if on else '☐'}" for opt, on in options)
    return "  ".join(f"{'☒' if on else '☐'} {opt}" for opt, on in options)


# ---- PDF -----------------------------------------------------------------------------------------


def _plain(items: list[Item], word: bool = False) -> list[Item]:
    """The new kinds a format has no own drawing for, as the kinds it has."""
    out: list[Item] = []
    for item in items:
        if item[0] == "yesno" and not word:
            out.append(("text", f"{item[1]} {item[2]} (delete as appropriate)"))
        elif item[0] == "nested" and not word:
            for heading, rows in item[1]:
                out += [("heading", heading), ("rows", rows)]
        elif item[0] == "twocol":
            out += [
                ("text", line) if ": " not in line else ("lines", [tuple(line.split(": ", 1))])
                for line in item[1] + item[2]
            ]
        else:
            out.append(item)
    return out


def pdf_form(items: list[Item], *, tick_style: str = "glyphs", header: str | None = OUR_HEADER) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", "", FONT)
    pdf.add_font("DejaVu", "B", FONT_BOLD)
    pdf.set_font("DejaVu", size=10)
    if header:
        pdf.cell(0, 7, header, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    for item in [i for i in items if i[0] == "twocol"] + _plain([i for i in items if i[0] != "twocol"]):
        kind = item[0]
        if kind == "twocol":
            with pdf.text_columns(ncols=2, gutter=10) as cols:
                for line in item[1]:
                    cols.write(line + "\n")
                cols.new_column()
                for line in item[2]:
                    cols.write(line + "\n")
            pdf.ln(4)
        elif kind == "below":
            for label, value in item[1]:
                pdf.set_font("DejaVu", "B", size=10)
                pdf.cell(0, 6, label, new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("DejaVu", size=10)
                pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
        elif kind == "heading":
            pdf.ln(2)
            pdf.set_font("DejaVu", size=12)
            pdf.cell(0, 8, item[1], new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", size=10)
        elif kind == "rows":
            with pdf.table(col_widths=(70, 110), text_align="LEFT", first_row_as_headings=False) as table:
                for label, value in item[1]:
                    row = table.row()
                    row.cell(label)
                    row.cell(value)
            pdf.ln(2)
        elif kind == "columns":
            with pdf.table(text_align="LEFT") as table:
                for cells in (item[1], item[2]):
                    row = table.row()
                    for cell in cells:
                        row.cell(cell)
            pdf.ln(2)
        elif kind == "lines":
            for label, value in item[1]:
                pdf.cell(0, 7, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
        elif kind == "ticks" and tick_style == "drawn":
            _drawn_ticks(pdf, item[1], item[2])
        elif kind == "ticks":
            style = item[3] if len(item) > 3 else tick_style
            pdf.cell(0, 7, f"{item[1]}: {_tick_text(item[2], style)}", new_x="LMARGIN", new_y="NEXT")
        elif kind == "text":
            pdf.multi_cell(0, 6, item[1], new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    return bytes(pdf.output())


def _drawn_ticks(pdf: FPDF, label: str, options: list[tuple[str, bool]]) -> None:
    """Boxes drawn as squares, a tick written only in the chosen one: the page's text shows no mark at
    all before the options not chosen."""
    pdf.cell(pdf.get_string_width(label) + 8, 7, f"{label}:")
    for option, on in options:
        x, y = pdf.get_x(), pdf.get_y()
        pdf.rect(x, y + 1.5, 4, 4)
        pdf.cell(6, 7, "✔" if on else "")
        pdf.cell(pdf.get_string_width(option) + 10, 7, option)
    pdf.ln(7)


def pdf_letter(lines: list[str]) -> bytes:
    """A council's letter: one paragraph per entry, as printed."""
    return pdf_form([("text", line) for line in lines], header=None)


def image_only_pdf() -> bytes:
    """A scanned form: one page with a picture and no text layer."""
    from PIL import Image

    picture = io.BytesIO()
    Image.new("L", (400, 560), 255).save(picture, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(picture.getvalue()), x=10, y=10, w=180)
    return bytes(pdf.output())


def encrypted_pdf(items: list[Item], password: str = "s3cret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_form(items))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def edit_protected_pdf(items: list[Item]) -> bytes:
    """Encrypted against editing only: opens without a password, as many council forms do."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_form(items))))
    writer.encrypt(user_password="", owner_password="owner-only", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fillable_pdf(printed: list[Item], fields: list[tuple[str, str, str | bool]]) -> bytes:
    """A PDF form filled in on screen: the answers live in its form fields (AcroForm), not in the page's
    text. `fields`: (field name, tooltip, value), a bool for a check box."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_form(printed))))
    refs = ArrayObject()
    for i, (name, tooltip, value) in enumerate(fields):
        box = isinstance(value, bool)
        widget = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Btn" if box else "/Tx"),
            NameObject("/T"): TextStringObject(name),
            NameObject("/TU"): TextStringObject(tooltip),
            NameObject("/V"): NameObject("/Yes" if value is True else "/Off") if box else TextStringObject(value),
            NameObject("/Rect"): ArrayObject([FloatObject(x) for x in (300, 700 - 20 * i, 500, 715 - 20 * i)]),
        })  # fmt: skip
        added = writer.add_annotation(0, widget)
        refs.append(added.indirect_reference)
    writer.root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): refs})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---- Word ----------------------------------------------------------------------------------------

_W14_BOX = (
    '<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"><w:sdtPr><w14:checkbox>'
    '<w14:checked w14:val="{val}"/></w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:t>{glyph}</w:t></w:r>'
    "</w:sdtContent></w:sdt>"
)
_LEGACY_BOX = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:fldChar w:fldCharType="begin">'
    '<w:ffData><w:checkBox><w:sizeAuto/><w:default w:val="{val}"/></w:checkBox></w:ffData></w:fldChar></w:r>'
)
_SYMBOL_BOX = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    '<w:sym w:font="Wingdings" w:char="{char}"/></w:r>'
)


def _word_ticks(paragraph: Any, options: list[tuple[str, bool]], style: str) -> None:
    for opt, on in options:
        if style == "content_control":
            paragraph._p.append(parse_xml(_W14_BOX.format(val=int(on), glyph="☒" if on else "☐")))
        elif style == "legacy":
            paragraph._p.append(parse_xml(_LEGACY_BOX.format(val=int(on))))
        elif style == "symbol":
            paragraph._p.append(parse_xml(_SYMBOL_BOX.format(char="F0FE" if on else "F0A8")))
        else:
            paragraph.add_run("[X]" if on else "[ ]")
        paragraph.add_run(f" {opt}   ")


def docx_form(items: list[Item], *, tick_style: str = "content_control", header: str | None = OUR_HEADER) -> bytes:
    document = Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
    for item in _plain(items, word=True):
        kind = item[0]
        if kind == "below":
            for label, value in item[1]:
                document.add_paragraph().add_run(label).bold = True
                document.add_paragraph(value)
        elif kind == "yesno":
            paragraph = document.add_paragraph(f"{item[1]} ")
            paragraph.add_run("Yes").font.strike = item[2] != "Yes"
            paragraph.add_run(" / ")
            paragraph.add_run("No").font.strike = item[2] != "No"
            paragraph.add_run(" (delete as appropriate)")
        elif kind == "nested":
            outer = document.add_table(rows=0, cols=1)
            for heading, rows in item[1]:
                cell = outer.add_row().cells[0]
                cell.paragraphs[0].text = heading
                inner = cell.add_table(rows=0, cols=2)
                for label, value in rows:
                    cells = inner.add_row().cells
                    cells[0].text = label
                    cells[1].text = value
        elif kind == "heading":
            document.add_heading(item[1], level=2)
        elif kind == "rows":
            table = document.add_table(rows=0, cols=2)
            for label, value in item[1]:
                cells = table.add_row().cells
                cells[0].text = label
                cells[1].text = value
        elif kind == "columns":
            table = document.add_table(rows=2, cols=len(item[1]))
            for r, cells in enumerate((item[1], item[2])):
                for c, text in enumerate(cells):
                    table.cell(r, c).text = text
        elif kind == "lines":
            for label, value in item[1]:
                document.add_paragraph(f"{label}: {value}")
        elif kind == "ticks" and len(item) > 3:
            document.add_paragraph(f"{item[1]}: {_tick_text(item[2], item[3])}")
        elif kind == "ticks":
            paragraph = document.add_paragraph(f"{item[1]}: ")
            _word_ticks(paragraph, item[2], tick_style)
        elif kind == "text":
            document.add_paragraph(item[1])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ---- OpenDocument --------------------------------------------------------------------------------

_ODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
)


def _plain_odt(items: list[Item]) -> list[Item]:
    """As `_plain`, but a table inside a table is written as one (LibreOffice's forms have them)."""
    out: list[Item] = []
    for item in items:
        out += [item] if item[0] == "nested" else _plain([item])
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def odt_form(items: list[Item]) -> bytes:
    body: list[str] = []
    for item in _plain_odt(items):
        kind = item[0]
        if kind == "nested":  # an outer table, one row per section, each cell holding a table
            rows = "".join(
                f"<table:table-row><table:table-cell><text:p>{_esc(heading)}</text:p><table:table>"
                + "".join(
                    f"<table:table-row><table:table-cell><text:p>{_esc(label)}</text:p></table:table-cell>"
                    f"<table:table-cell><text:p>{_esc(value)}</text:p></table:table-cell></table:table-row>"
                    for label, value in inner
                )
                + "</table:table></table:table-cell></table:table-row>"
                for heading, inner in item[1]
            )
            body.append(f"<table:table>{rows}</table:table>")
        elif kind == "below":
            for label, value in item[1]:
                body.append(f"<text:p>{_esc(label)}</text:p><text:p>{_esc(value)}</text:p>")
        elif kind == "heading":
            body.append(f'<text:h text:outline-level="2">{_esc(item[1])}</text:h>')
        elif kind in ("rows", "lines"):
            if kind == "lines":
                body.extend(f"<text:p>{_esc(label)}: {_esc(value)}</text:p>" for label, value in item[1])
                continue
            rows = "".join(
                f"<table:table-row><table:table-cell><text:p>{_esc(label)}</text:p></table:table-cell>"
                f"<table:table-cell><text:p>{_esc(value)}</text:p></table:table-cell></table:table-row>"
                for label, value in item[1]
            )
            body.append(f"<table:table>{rows}</table:table>")
        elif kind == "columns":
            rows = "".join(
                "<table:table-row>"
                + "".join(f"<table:table-cell><text:p>{_esc(c)}</text:p></table:table-cell>" for c in cells)
                + "</table:table-row>"
                for cells in (item[1], item[2])
            )
            body.append(f"<table:table>{rows}</table:table>")
        elif kind == "ticks":
            style = item[3] if len(item) > 3 else "glyphs"
            body.append(f"<text:p>{_esc(item[1])}: {_esc(_tick_text(item[2], style))}</text:p>")
        elif kind == "text":
            body.append(f"<text:p>{_esc(item[1])}</text:p>")
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODT_NS}><office:body><office:text>'
        + "".join(body)
        + "</office:text></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# ---- the email -----------------------------------------------------------------------------------

TYPES = {
    ".pdf": ("application", "pdf"),
    ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".odt": ("application", "vnd.oasis.opendocument.text"),
    ".doc": ("application", "msword"),
}
SENT = datetime(2026, 5, 12, 9, 30, tzinfo=UTC)


def email_with(
    body: str,
    attachments: list[tuple[str, bytes]],
    *,
    sender: str = "Sarah Nolan <sarah.nolan@example.com>",
    subject: str = "Referral form",
    date: datetime = SENT,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "referrals@mediation-desk.example.org"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    for name, data in attachments:
        maintype, subtype = TYPES.get(name[name.rfind(".") :].lower(), ("application", "octet-stream"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()
