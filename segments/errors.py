"""What segments refuse with: SegmentError and its kinds, each a
workspaces.errors.KithError (a page shows it beside its field, the API answers it
with its code and status, api.md). They live apart from the services so that the
reads that check a rule (selectors.segment_preview) raise the same errors as the
writes without importing them.

`conditions_validate` turns the rule language's RuleError (segments.rules) into
InvalidConditions: the JSON path of the bad node for the API, and the builder's
words for a page."""

from segments import rules
from workspaces.errors import KithError
from workspaces.models import Workspace


class SegmentError(KithError):
    """A segment write refused."""


class InvalidConditions(SegmentError):
    """A rule that does not hold, at `path`; `words` says it in the builder's words
    (rules.RuleError.words), `message` in the JSON's."""

    code = "invalid_conditions"

    def __init__(self, message: str, *, path: str = "", words: str | None = None):
        super().__init__(message, path=path)
        self.words = words or message


class DuplicateName(SegmentError):
    code, status = "duplicate_name", 409


class SegmentLimit(SegmentError):
    code, status = "segment_limit", 409


class SegmentInUse(SegmentError):
    code, status = "segment_in_use", 409


class NotManual(SegmentError):
    code, status = "segment_not_manual", 409


def conditions_validate(
    *,
    workspace: Workspace,
    conditions,
    segment=None,
    vocabulary: rules.Vocabulary | None = None,
) -> rules.Vocabulary:
    """Check a rule against the workspace's names; the vocabulary read, to use again."""
    try:
        return rules.validate(
            conditions,
            workspace.pk,
            segment_id=segment.pk if segment else None,
            vocabulary=vocabulary,
        )
    except rules.RuleError as exc:
        raise InvalidConditions(exc.message, path=exc.path, words=exc.words) from None
