import re

import pytest

from device import config
from device.auth.passwords import hash_password
from device.session.simulated import SimulatedRecorder
from device.store import db, records
from device.web.app import create_app

PASSWORD = "a long enough secret"


@pytest.fixture
def app(tmp_path):
    conn = db.connect(tmp_path / db.DB_FILE)
    records.add_clinician(conn, "dr-a", hash_password(PASSWORD))
    conn.close()
    return create_app(config.load(None), tmp_path, SimulatedRecorder("dystonic", 5),
                      testing=True)


def csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def sign_in(client, password=PASSWORD):
    token = csrf(client, "/login")
    return client.post("/login", data={"csrf_token": token, "name": "dr-a",
                                       "password": password})


def test_every_route_needs_a_login(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.login"):
            continue
        if rule.endpoint == "setup.first_account":  # public only while a one-time code lives
            assert client.get(rule.rule).status_code == 404
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method)
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path)
                assert response.get_json() == {"error": "sign-in required"}
            else:
                assert response.status_code in (302, 303), (method, path)
                assert "/login" in response.headers["Location"]
            checked += 1
    assert checked >= 8


def test_forms_without_csrf_token_are_refused(app):
    client = app.test_client()
    assert client.post("/login", data={"name": "dr-a", "password": PASSWORD}).status_code \
        in (400, 200)
    assert client.get("/").status_code == 302  # the token-less sign-in did not sign in
    assert sign_in(client).status_code == 302
    for path, data in (("/patients", {"pseudonym": "P-1"}), ("/logout", {}),
                       ("/patients/1/sessions", {"protocol": "quick"}),
                       ("/sessions/1/record/start", {}), ("/sessions/1/record/stop", {})):
        assert client.post(path, data=data).status_code == 400, path
    assert client.get("/").status_code == 200  # still signed in: logout was refused


def test_sign_in_patient_session_api_and_sign_out(app):
    client = app.test_client()
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    token = csrf(client, "/")
    response = client.post("/patients", data={
        "csrf_token": token, "pseudonym": "P-017", "year_of_birth": "1979", "sex": "female",
        "handedness": "right", "affected_side": "right", "notes": "scale feels uneven"})
    assert response.status_code == 302
    patient_path = response.headers["Location"]
    page = client.get(patient_path).get_data(as_text=True)
    assert "P-017" in page and "scale feels uneven" in page
    token = csrf(client, patient_path)
    response = client.post(f"{patient_path}/sessions", data={"csrf_token": token,
                                                             "protocol": "quick"})
    assert response.status_code == 302 and "/sessions/" in response.headers["Location"]
    patients = client.get("/api/patients").get_json()
    assert [p["pseudonym"] for p in patients] == ["P-017"]
    detail = client.get(f"/api{patient_path}").get_json()
    assert detail["sessions"][0]["protocol"] == "quick"
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/patients" in spec["paths"]
    token = csrf(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/patients").status_code == 401


def test_bad_patient_input_is_named(app):
    client = app.test_client()
    sign_in(client)
    token = csrf(client, "/")
    response = client.post("/patients", data={"csrf_token": token, "pseudonym": "Jane Doe!",
                                              "year_of_birth": "1850"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "letters, digits" in page and "Year of birth" in page


def test_wrong_password_and_rate_limit(app):
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "wrong password!").status_code == 401
    response = sign_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert "Try again in" in response.get_data(as_text=True)


def test_cookie_flags_and_headers(app):
    client = app.test_client()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_open_redirect_is_refused(app):
    client = app.test_client()
    token = csrf(client, "/login")
    response = client.post("/login?next=//evil.example/", data={
        "csrf_token": token, "name": "dr-a", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_secret_key_is_made_once_and_private(tmp_path):
    from device.web.secrets import secret_key

    key = secret_key(tmp_path)
    assert len(key) == 32 and secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_first_start_one_time_code(tmp_path):
    app = create_app(config.load(None), tmp_path, SimulatedRecorder("healthy", 1), testing=True)
    client = app.test_client()
    assert client.get("/setup").status_code == 404  # no code issued: nothing to set up
    app.config["SETUP_CODE"] = "ABCD-1234"
    page = client.get("/setup").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "code": "WXYZ-0000", "name": "dr-first",
            "password": PASSWORD, "confirm": PASSWORD}
    assert "The code is wrong" in client.post("/setup", data=form).get_data(as_text=True)
    form["code"] = "abcd-1234"
    assert client.post("/setup", data=form).status_code == 302
    assert client.get("/setup").status_code == 404  # once only
    token = csrf(client, "/login")
    assert client.post("/login", data={"csrf_token": token, "name": "dr-first",
                                       "password": PASSWORD}).status_code == 302
