"""The import jobs (placeholder until the engine lands in the next commit)."""

REVIEW, RUN = "import_review", "import_run"


def run_review(context) -> None:
    raise NotImplementedError("The import engine is not there yet.")


def run_import(context) -> None:
    raise NotImplementedError("The import engine is not there yet.")
