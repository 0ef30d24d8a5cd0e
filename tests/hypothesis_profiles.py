"""Hypothesis profiles, loaded as a pytest plugin (pyproject.toml: addopts
`-p tests.hypothesis_profiles`) before any test is collected:

- `dev`, the default: quick, for a local run (a property is tried on 50 examples);
- `ci`, chosen when CI is set (.ci/run sets it): thorough (500 examples each), and a
  failure prints the blob that reproduces it (@reproduce_failure).

HYPOTHESIS_PROFILE=ci (or dev) picks one by name. Properties set no max_examples of
their own, so the profile decides; neither keeps a database of examples in the tree."""

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=50, deadline=None, database=None)
settings.register_profile("ci", max_examples=500, deadline=None, database=None, print_blob=True)


def profile_name(environ=os.environ) -> str:
    return environ.get("HYPOTHESIS_PROFILE") or ("ci" if environ.get("CI") else "dev")


settings.load_profile(profile_name())
