"""tests/hypothesis_profiles.py: a quick profile for local runs, a thorough one in CI."""

from hypothesis import settings

from tests.hypothesis_profiles import profile_name


def test_ci_is_thorough_and_a_local_run_quick():
    assert profile_name({"CI": "true"}) == "ci"
    assert profile_name({}) == "dev"
    assert profile_name({"CI": "true", "HYPOTHESIS_PROFILE": "dev"}) == "dev"
    assert settings.get_profile("ci").max_examples >= 10 * settings.get_profile("dev").max_examples


def test_the_profile_is_loaded_before_the_tests_run():
    assert settings.default.max_examples == settings.get_profile(profile_name()).max_examples
