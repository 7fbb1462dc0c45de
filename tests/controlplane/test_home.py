import pytest
from django.contrib.auth.models import User


@pytest.mark.django_db
def test_home_sends_staff_to_the_admin_index(client):
    client.force_login(User.objects.create_user("mia", is_staff=True))
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")


@pytest.mark.django_db
def test_home_sends_everyone_else_to_the_login_and_back_to_the_index(client):
    assert client.get("/")["Location"] == "/admin/login/?next=/admin/"
    client.force_login(User.objects.create_user("shopper"))
    assert client.get("/")["Location"] == "/admin/login/?next=/admin/"


def test_the_favicon_is_served_where_browsers_look_for_it(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


@pytest.mark.parametrize(
    "path", ["/static/reports/reports.css", "/static/favicon.svg", "/static/favicon.ico"]
)
def test_the_report_stylesheet_and_icons_are_served_by_the_app_itself(client, path):
    """WhiteNoise serves them from the app's static folder, so the demo needs no collectstatic."""
    assert client.get(path).status_code == 200
