"""Bulk actions of the contact list: what can be done to the checked contacts.

Each action is a form (its fields prefixed with the action's name on the page), a
template that draws its controls in the bulk bar, and a function that does the work
through a service. Other apps add theirs ("Add to segment") with `register` in their
AppConfig.ready, and the bar and the bulk view pick them up."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms

from contacts import services
from contacts.forms import BulkTagForm
from workspaces.models import Workspace

MAX_SELECTED = 1000


@dataclass(frozen=True)
class BulkAction:
    name: str  # the value of the submit button, and the form prefix
    label: str
    form_class: type[forms.Form]
    template: str
    # run(workspace=, contact_ids=, data=cleaned form data, user=) -> message for the user
    run: Callable[..., str]
    order: int = 100
    # run_queryset(workspace=, contacts=queryset, data=, user=) -> message: the action on
    # every contact that matches the list's filters ("select all N"), set-based. Actions
    # without it work on the checked contacts only.
    run_queryset: Callable[..., str] | None = None


_actions: dict[str, BulkAction] = {}


def register(action: BulkAction) -> None:
    _actions[action.name] = action


def get(name: str | None) -> BulkAction | None:
    return _actions.get(name or "")


def all_actions() -> list[BulkAction]:
    return sorted(_actions.values(), key=lambda a: (a.order, a.label))


def _plural(n: int) -> str:
    return f"{n} contact" if n == 1 else f"{n:,} contacts"


def _tag(*, workspace: Workspace, contact_ids: list[int], data: dict, user=None) -> str:
    count = services.contacts_tag(
        workspace=workspace, contact_ids=contact_ids, names=[data["name"]]
    )
    return f"Tagged {_plural(count)} with “{data['name']}”."


register(
    BulkAction(
        name="tag",
        label="Add tag",
        form_class=BulkTagForm,
        template="contacts/bulk/tag.html",
        run=_tag,
        order=10,
    )
)
