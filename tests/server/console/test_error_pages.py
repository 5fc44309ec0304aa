"""Every error the console answers is its own page, in Chinese with English, naming
the request id that the response's header (and the server's log) carry."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.server.console.conftest import County, login


def test_every_error_page_is_the_consoles_own_in_both_languages_with_its_request_id(
    client: FlaskClient, county: County
) -> None:
    login(client, county.accounts["town_admin"])
    answers = {
        "not found": client.get("/no-such-page"),
        "forbidden": client.get("/settings"),
        "wrong method": client.get("/ledger/ledger.xlsx"),
        "no CSRF token": client.post(f"/ledger/towns/{county.town.id}/cards.pdf"),
        "hidden": client.get(f"/ledger/towns/{county.other_town.id}"),
    }
    expected = {
        "not found": (404, "找不到该页面", "no such page"),
        "forbidden": (403, "无权查看", "may not see"),
        "wrong method": (405, "不支持这种操作", "does not take that"),
        "no CSRF token": (400, "表单已过期", "the form has expired"),
        "hidden": (404, "不在您负责的范围内", "outside your area"),
    }
    for name, answer in answers.items():
        code, chinese, english = expected[name]
        page = answer.get_data(as_text=True)
        assert answer.status_code == code, name
        assert answer.mimetype == "text/html", name
        assert chinese in page and english in page, name
        assert answer.headers["X-Request-ID"] in page, name
