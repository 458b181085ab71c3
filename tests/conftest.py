"""Shared fixtures: one user per role, plus an outsider reporter from another unit."""

import pytest

from departments.models import Role, UnitKind
from tests.factories import UnitFactory, UserFactory


@pytest.fixture
def unit_a(db):
    return UnitFactory(name="市医疗保障局", short_name="市医保局")


@pytest.fixture
def unit_b(db):
    return UnitFactory(name="市财政局")


@pytest.fixture
def county(db):
    return UnitFactory(name="叶县政府", short_name="叶县", kind=UnitKind.COUNTY)


@pytest.fixture
def secretariat_unit(db):
    return UnitFactory(name="市医改办", kind=UnitKind.SECRETARIAT)


@pytest.fixture
def secretariat(db, secretariat_unit):
    return UserFactory(username="sec", role=Role.SECRETARIAT, unit=secretariat_unit)


@pytest.fixture
def reporter(db, unit_a):
    return UserFactory(username="rep_a", role=Role.REPORTER, unit=unit_a)


@pytest.fixture
def outsider(db, unit_b):
    """A reporter of another unit: must never see unit A's rows."""
    return UserFactory(username="rep_b", role=Role.REPORTER, unit=unit_b)


@pytest.fixture
def county_reporter(db, county):
    return UserFactory(username="rep_county", role=Role.REPORTER, unit=county)


@pytest.fixture
def leader(db):
    return UserFactory(username="leader", role=Role.LEADER)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin1", role=Role.ADMIN, is_staff=True)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor1", role=Role.AUDITOR)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def _client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def client_as():
    """client_as(user) -> a logged-in django.test.Client."""
    return _client_for


@pytest.fixture
def api_as():
    """api_as(user) -> an APIClient authenticated as that user."""
    from rest_framework.test import APIClient

    def make(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    return make
