import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.core.management import base as management_base

from segments.models import Segment
from tests.factories import UserFactory, WorkspaceFactory
from workspaces.models import ApiKey, Membership, Role, Workspace
from workspaces.services import api_key_authenticate

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_cli(monkeypatch):
    """Run a command as the shell does, so errors are reported the way a user sees them.
    (Django closes the connections after a command; the test still needs its own.)"""
    monkeypatch.setattr(management_base.connections, "close_all", lambda: None)
    return lambda *argv: ManagementUtility(["manage.py", *argv]).execute()


def test_createworkspace_with_owner_and_default_segments(capsys):
    alice = UserFactory(username="alice")
    call_command("createworkspace", "Acme Corp", "--slug", "acme-corp", "--owner", "alice")

    workspace = Workspace.objects.get(slug="acme-corp")
    assert workspace.name == "Acme Corp"
    assert Membership.objects.get(workspace=workspace).user == alice
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert Segment.objects.filter(workspace=workspace).count() == 5
    assert "acme-corp" in capsys.readouterr().out


def test_createworkspace_says_it_made_the_default_segments(capsys):
    call_command("createworkspace", "Acme Marketing")
    out = capsys.readouterr().out
    assert "Created workspace 'Acme Marketing' (slug acme-marketing)." in out
    assert (
        "Made its 5 default segments: Contacts created <7 days ago, Contacts inactive "
        ">30 days, Contacts with tags, Country known, Language known."
    ) in out


def test_createworkspace_twice_with_one_name_is_refused(capsys, run_cli):
    call_command("createworkspace", "Acme Marketing")
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run_cli("createworkspace", "acme marketing ")
    assert capsys.readouterr().err.strip() == (
        "CommandError: There is a workspace named 'Acme Marketing' already "
        "(slug acme-marketing). To make another workspace of that name, give it a --slug."
    )
    assert list(Workspace.objects.values_list("slug", flat=True)) == ["acme-marketing"]


def test_createworkspace_with_a_slug_of_its_own_makes_a_second_of_one_name(capsys):
    call_command("createworkspace", "Acme Marketing")
    capsys.readouterr()
    call_command("createworkspace", "Acme Marketing", "--slug", "acme-marketing-eu")
    out = capsys.readouterr().out
    assert "Created workspace 'Acme Marketing' (slug acme-marketing-eu)." in out
    assert (
        "It has the same name as 'Acme Marketing' (slug acme-marketing): tell them apart by slug."
    ) in out
    assert Workspace.objects.filter(name="Acme Marketing").count() == 2
    with pytest.raises(CommandError, match="The slug 'acme-marketing-eu' is taken."):
        call_command("createworkspace", "Acme Marketing", "--slug", "acme-marketing-eu")


def test_createworkspace_makes_a_slug_from_the_name():
    call_command("createworkspace", "Globex Corporation")
    assert Workspace.objects.get(name="Globex Corporation").slug == "globex-corporation"
    assert not Membership.objects.exists()


def test_createworkspace_unknown_owner_is_one_line_and_creates_nothing(capsys, run_cli):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("createworkspace", "Initech", "--owner", "ghost")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.strip() == "CommandError: There is no user 'ghost'."
    assert not Workspace.objects.exists()


def test_createworkspace_taken_slug():
    WorkspaceFactory(slug="acme")
    with pytest.raises(CommandError, match="The slug 'acme' is taken."):
        call_command("createworkspace", "Another Acme", "--slug", "acme")
    assert Workspace.objects.count() == 1


def test_create_api_key_prints_a_working_key_once(capsys, workspace):
    call_command("create_api_key", "--workspace", "acme", "--name", "CRM sync")
    out, err = capsys.readouterr()
    raw = out.strip()

    key = api_key_authenticate(raw)
    assert key is not None and key.workspace == workspace and key.name == "CRM sync"
    assert "not shown again" in err
    assert raw not in err
    # Only its hash is kept.
    assert not ApiKey.objects.filter(key_hash=raw).exists()
    assert raw not in (key.prefix, key.key_hash)


def test_create_api_key_errors(capsys, workspace, run_cli):
    with pytest.raises(SystemExit):
        run_cli("create_api_key", "--workspace", "nope", "--name", "x")
    assert capsys.readouterr().err.strip() == (
        "CommandError: There is no workspace with the slug 'nope'."
    )
    with pytest.raises(CommandError, match="Give the key a name"):
        call_command("create_api_key", "--workspace", "acme", "--name", "  ")
    assert not ApiKey.objects.exists()
