"""Password sheets (hubstead.users.sheets): readable by their owner and admins, until they expire."""

import pytest

from hubstead.users import sheets


@pytest.fixture
def db(tmp_path):
    return tmp_path / "hubstead.sqlite"


def test_the_owner_and_admins_read_a_sheet_others_do_not(db):
    sheet_id = sheets.create("ines", [("ws1", "pw-1")], "http://hub", now=100.0, path=db)
    sheet = sheets.get(sheet_id, "ines", now=101.0, path=db)
    assert sheet["accounts"] == [{"username": "ws1", "password": "pw-1"}] and sheet["owner"] == "ines"
    assert sheets.get(sheet_id, "root-ish", admin=True, now=101.0, path=db)["owner"] == "ines"
    with pytest.raises(sheets.SheetNotFound):
        sheets.get(sheet_id, "otto", now=101.0, path=db)


def test_a_sheet_expires_after_its_hours(db):
    sheet_id = sheets.create("ines", [("ws1", "pw")], "http://hub", hours=24, now=0.0, path=db)
    assert sheets.get(sheet_id, "ines", now=24 * 3600 - 1, path=db)
    with pytest.raises(sheets.SheetNotFound):
        sheets.get(sheet_id, "ines", now=24 * 3600, path=db)
    assert sheets.listing("ines", now=24 * 3600, path=db) == []


def test_listing_shows_counts_not_passwords(db):
    sheets.create("ines", [("a", "1"), ("b", "2")], "http://hub", now=10.0, path=db)
    sheets.create("otto", [("c", "3")], "http://hub", now=20.0, path=db)
    assert [(item["owner"], item["count"]) for item in sheets.listing("ines", now=30.0, path=db)] == [("ines", 2)]
    assert [item["owner"] for item in sheets.listing("x", admin=True, now=30.0, path=db)] == ["otto", "ines"]
    assert "password" not in str(sheets.listing("ines", now=30.0, path=db))


def test_csv_and_printable_page_escape_what_they_show(db):
    sheet_id = sheets.create("ines", [("ws1", "<b>pw</b>")], "http://hub/<x>", now=0.0, path=db)
    sheet = sheets.get(sheet_id, "ines", now=1.0, path=db)
    assert sheets.as_csv(sheet) == "username,password\nws1,<b>pw</b>\n"
    page = sheets.as_html(sheet)
    assert "&lt;b&gt;pw&lt;/b&gt;" in page and "<b>pw" not in page and "&lt;x&gt;" in page


def test_delete_is_for_the_owner(db):
    sheet_id = sheets.create("ines", [("a", "1")], "http://hub", path=db)
    with pytest.raises(sheets.SheetNotFound):
        sheets.delete(sheet_id, "otto", path=db)
    sheets.delete(sheet_id, "ines", path=db)
    with pytest.raises(sheets.SheetNotFound):
        sheets.get(sheet_id, "ines", path=db)
