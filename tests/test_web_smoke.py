from conftest import api_headers, login


def test_county_logs_in_and_sees_its_inbox_in_chinese(make, client):
    county = make.user("county", county="盂县")
    make.case("designation", by=county)
    assert login(client, county.username).status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert "我的待办" in page and "草稿" in page


def test_api_token_and_me(make, client):
    county = make.user("county")
    me = client.get("/api/v1/me", headers=api_headers(client, county.username))
    assert me.status_code == 200 and me.json["role"] == "county"
