import pytest

from polit.config import Settings


def test_env_vars_and_overrides():
    env = {"POLIT_MAX_RPS": "0", "POLIT_LAKE": "gs://b/lake", "POLIT_BOARDS": "pol, /g/"}
    s = Settings.from_env(env)
    assert (s.max_rps, s.lake, s.boards) == (0.0, "gs://b/lake", ("pol", "g"))
    s = Settings.from_env(env, max_rps=2.5, boards=["x"], lake=None)
    assert (s.max_rps, s.boards, s.lake) == (2.5, ("x",), "gs://b/lake")


def test_defaults():
    s = Settings.from_env({})
    assert (s.max_rps, s.lake, s.boards) == (1.0, "./data/lake", ("pol",))
    assert s.user_agent.startswith("polit/")
    assert (s.max_retry_after, s.max_body_bytes) == (120.0, 32 * 1024 * 1024)


def test_response_bounds_from_env():
    s = Settings.from_env({"POLIT_MAX_RETRY_AFTER": "30", "POLIT_MAX_BODY_BYTES": "1000"})
    assert (s.max_retry_after, s.max_body_bytes) == (30.0, 1000)
    for env in ({"POLIT_MAX_BODY_BYTES": "1e6"}, {"POLIT_MAX_BODY_BYTES": "0"},
                {"POLIT_MAX_RETRY_AFTER": "-1"}, {"POLIT_MAX_RETRY_AFTER": "soon"}):  # fmt: skip
        with pytest.raises(ValueError, match=r"(?i)max_body_bytes|max_retry_after"):
            Settings.from_env(env)


@pytest.mark.parametrize(
    "env",
    [{"POLIT_MAX_RPS": "fast"}, {"POLIT_MAX_RPS": "-1"}, {"POLIT_BOARDS": "po l"},
     {"POLIT_TIMEOUT": "0"}],
)  # fmt: skip
def test_bad_values_are_clear_errors(env):
    with pytest.raises(ValueError, match=r"max_rps|MAX_RPS|board|timeout"):
        Settings.from_env(env)
