"""The kinds of job, each with the function that does its work. Apps above the floor
register theirs in AppConfig.ready ("add_to_segments", "import", "export"...), and the
runner hands each job to the function registered for its kind."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str  # what the Activity page calls it: "Add to segments"
    # run(context: jobs.runner.JobContext) -> None. Resumable: it reads
    # context.job.checkpoint, saves progress with context.advance() in the transaction
    # of each chunk, and calls context.raise_if_cancelled() between chunks.
    run: Callable
    cancellable: bool = True


_kinds: dict[str, JobKind] = {}


def register(kind: JobKind) -> None:
    _kinds[kind.name] = kind


def get(name: str) -> JobKind | None:
    return _kinds.get(name)


def label(name: str) -> str:
    kind = _kinds.get(name)
    return kind.label if kind else name.replace("_", " ").capitalize()
