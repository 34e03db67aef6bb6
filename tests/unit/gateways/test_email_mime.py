"""The e-mail gateway's reading of a message: its parts split onto disk a line at a time,
decoded as the email package encodes them, and what of them becomes the fax."""

from __future__ import annotations

import io
import random
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from openfax.documents.filetype import FileType
from openfax.errors import MailRefusedError
from openfax.gateways.email.fax_mail import fax_of
from openfax.gateways.email.mime import MAX_DEPTH, SplitMail, split_message
from openfax.model.records import MAX_NOTE_LENGTH


def split(message: EmailMessage | bytes, folder: Path, max_parts: int = 20) -> SplitMail:
    data = message if isinstance(message, bytes) else message.as_bytes(policy=SMTP)
    return split_message(io.BytesIO(data), folder, max_parts=max_parts)


def test_every_part_is_decoded_to_a_file_as_the_email_package_encoded_it(tmp_path: Path) -> None:
    blobs = [random.Random(seed).randbytes(size) for seed, size in enumerate((0, 1, 2, 57, 5000))]
    message = EmailMessage()
    message["Subject"] = "=?utf-8?q?Gr=C3=BC=C3=9Fe?=  from\tfar"
    message["Message-ID"] = "<m1@example.com>"
    text = "Grüße,\n.a line with a dot\n" + "long " * 40 + "\n"
    message.set_content(text, cte="quoted-printable")
    message.add_alternative("<p>Grüße</p>", subtype="html")
    for index, blob in enumerate(blobs):
        message.add_attachment(blob, "application", "octet-stream", filename=f"b{index}.bin")
    latin = "Æbleskiver à la carte\n"
    message.add_attachment(
        latin.encode("latin-1"), "text", "plain", filename="menu.txt", params={"charset": "latin-1"}
    )

    mail = split(message, tmp_path)

    assert mail.subject == "Grüße from far"
    assert mail.message_id == "<m1@example.com>"
    types = [part.content_type for part in mail.parts]
    assert types == ["text/plain", "text/html", *["application/octet-stream"] * 5, "text/plain"]
    plain, html, *binaries, menu = mail.parts
    assert plain.path.read_text() == text
    assert html.path.read_text() == "<p>Grüße</p>\n"
    assert [part.path.read_bytes() for part in binaries] == blobs
    assert [part.filename for part in binaries] == [f"b{i}.bin" for i in range(5)]
    assert menu.path.read_text() == latin  # recoded from its charset to UTF-8
    assert {p.path.parent for p in mail.parts} == {tmp_path}
    mail.remove()
    assert not list(tmp_path.iterdir())


def test_a_message_without_parts_is_one_part_and_boundaries_may_carry_white_space(
    tmp_path: Path,
) -> None:
    single = split(b"Subject: hi\r\n\r\nHello\r\nthere\r\n", tmp_path)
    assert [(p.content_type, p.path.read_text()) for p in single.parts] == [
        ("text/plain", "Hello\nthere\n")
    ]
    raw = (
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1  \r\n'
        b"Content-Type: text/plain\r\n\r\nfirst\r\n--b1\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"JVBE\r\nRi0x\r\nLjQ\r\n--b1--  \r\nepilogue\r\n"
    )
    parts = split(raw, tmp_path).parts
    assert [p.path.read_bytes() for p in parts] == [b"first", b"%PDF-1.4"]


def test_limits_are_refused_with_their_reason(tmp_path: Path) -> None:
    many = EmailMessage()
    many.set_content("text")
    for index in range(3):
        many.add_attachment(b"x", "application", "pdf", filename=f"{index}.pdf")
    with pytest.raises(MailRefusedError, match="more than 3 parts") as refused:
        split(many, tmp_path, max_parts=3)
    assert refused.value.reply.startswith("552 5.3.4")
    nested = b"".join(
        b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i)
        for i in range(MAX_DEPTH + 1)
    )
    with pytest.raises(MailRefusedError, match="nested"):
        split(nested + b"\r\nx\r\n", tmp_path)
    with pytest.raises(MailRefusedError, match="header block"):
        split(b"X-Long: " + b"a" * 300_000 + b"\r\n\r\nbody\r\n", tmp_path)
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_attachments_are_the_body_and_the_text_the_cover_note(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Figures"
    message.set_content("See attached.\n")
    message.add_attachment(b"%PDF-1.4 a", "application", "pdf", filename="a.pdf")
    message.add_attachment(b"\x89PNG\r\n\x1a\n", "image", "png", filename="b.png")
    fax = fax_of(split(message, tmp_path), tmp_path, max_attachments=2)
    assert [body.read_bytes()[:4] for body in fax.bodies] == [b"%PDF", b"\x89PNG"]
    assert fax.names == ["a.pdf", "b.png"]
    assert fax.note == "See attached."
    assert (fax.subject, fax.document_name) == ("Figures", "a.pdf")
    message.add_attachment(b"%PDF-1.4 c", "application", "pdf", filename="c.pdf")
    three = split(message, tmp_path)
    with pytest.raises(MailRefusedError, match="3 attachments, more than the 2"):
        fax_of(three, tmp_path, max_attachments=2)


def test_a_signed_message_is_faxed_without_its_signature(tmp_path: Path) -> None:
    message = EmailMessage()
    message.set_content("Signed.\x00")
    message.add_attachment(b"%PDF-1.4 a", "application", "pdf", filename="a.pdf")
    message.add_attachment(b"0\x82", "application", "pkcs7-signature", filename="smime.p7s")
    fax = fax_of(split(message, tmp_path), tmp_path, max_attachments=1)
    assert fax.names == ["a.pdf"]
    assert fax.note == "Signed."


def test_a_text_too_long_for_a_note_is_faxed_before_the_attachments(tmp_path: Path) -> None:
    message = EmailMessage()
    message.set_content("word " * MAX_NOTE_LENGTH)
    message.add_attachment(b"%PDF-1.4 a", "application", "pdf", filename="a.pdf")
    fax = fax_of(split(message, tmp_path), tmp_path, max_attachments=2)
    assert fax.note == ""
    assert fax.names == ["the message's text", "a.pdf"]


def test_html_only_mail_is_faxed_as_its_text_and_its_inline_images_are_not(
    tmp_path: Path,
) -> None:
    message = EmailMessage()
    message["Subject"] = "Menu"
    message.set_content(
        "<html><head><title>t</title><style>p {}</style></head><body><h1>Menu</h1>"
        "<p>Soup   of the <b>day</b><br>Bread</p><script>x()</script>"
        '<img src="cid:logo"></body></html>',
        subtype="html",
    )
    message.add_related(b"\x89PNG\r\n\x1a\n", "image", "png", cid="<logo>")
    fax = fax_of(split(message, tmp_path), tmp_path, max_attachments=2)
    (body,) = fax.bodies
    assert body.read_text().split("\n") == ["", "Menu", "", "Soup of the day", "Bread", ""]
    assert fax.note == ""
    assert fax.document_name == "Menu"


def test_an_html_text_with_an_attachment_is_the_note_and_leaves_no_file(tmp_path: Path) -> None:
    message = EmailMessage()
    message.set_content("<p>Please <i>sign</i> page 2.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 a", "application", "pdf", filename="a.pdf")
    mail = split(message, tmp_path)
    fax = fax_of(mail, tmp_path, max_attachments=2)
    assert fax.note == "Please sign page 2."
    mail.remove()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("letter.docx", "application/octet-stream"),
        ("sheet.ODS", "application/octet-stream"),
        ("", "application/msword"),
        ("page.html", "text/html"),
    ],
)
def test_office_documents_are_refused_naming_the_attachment(
    tmp_path: Path, filename: str, content_type: str
) -> None:
    message = EmailMessage()
    message.set_content("text")
    maintype, subtype = content_type.split("/")
    message.add_attachment(b"PK\x03\x04", maintype, subtype, filename=filename or None)
    with pytest.raises(MailRefusedError, match="is an Office document") as refused:
        fax_of(split(message, tmp_path), tmp_path, max_attachments=2)
    assert refused.value.reply.startswith("554 5.6.1")
    assert (filename or "attachment 1") in refused.value.reason


def test_a_forwarded_message_attached_is_refused_with_the_reason(tmp_path: Path) -> None:
    inner = EmailMessage()
    inner["Subject"] = "Contract"
    inner.set_content("See the contract.")
    message = EmailMessage()
    message.set_content("Forwarding.")
    message.add_attachment(inner, filename="contract.eml")
    with pytest.raises(MailRefusedError, match="is an e-mail of its own"):
        fax_of(split(message, tmp_path), tmp_path, max_attachments=2)


def test_a_message_with_nothing_to_fax_is_refused(tmp_path: Path) -> None:
    message = EmailMessage()
    message.set_content("   \n\n")
    with pytest.raises(MailRefusedError, match="nothing to fax"):
        fax_of(split(message, tmp_path), tmp_path, max_attachments=2)


def test_office_documents_are_bodies_where_the_service_converts_them(tmp_path: Path) -> None:
    message = EmailMessage()
    message.set_content("The letter.")
    message.add_attachment(b"PK\x03\x04", "application", "msword", filename="letter.doc")
    refused: list[FileType] = []
    fax = fax_of(
        split(message, tmp_path),
        tmp_path,
        max_attachments=2,
        office=lambda kind: refused.append(kind) or "",
    )
    assert refused == [FileType.WORD]
    assert fax.names == ["letter.doc"]
    assert fax.note == "The letter."
