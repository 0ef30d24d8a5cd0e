import pytest

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme", slug="acme")


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="Globex", slug="globex")


@pytest.fixture
def user(workspace):
    user = UserFactory(username="owner")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def client_in(client, user):
    """A browser session signed in as the workspace's owner."""
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client, workspace):
    """member_client(role) -> a client signed in as a new member with that role."""

    def make(role=Role.MARKETER):
        member = UserFactory()
        MembershipFactory(workspace=workspace, user=member, role=role)
        client.force_login(member)
        return client

    return make
