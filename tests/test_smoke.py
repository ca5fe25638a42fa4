def test_login_and_family_list(demo_app):
    client = demo_app.test_client()
    r = client.post("/auth/login", data={"username": "promotor", "password": "fieldapp-demo"})
    assert r.status_code == 302
    r = client.get("/families/")
    assert r.status_code == 200
    assert "familias" in r.get_data(as_text=True).lower()
