"""How an environment differs now from the lock written when it was built (someone pip-installed into it)."""

from __future__ import annotations

from fluxgen.envs.home import SetupEnv
from fluxgen.envs.lock import Change, compare, installed


def current_state(env: SetupEnv) -> dict:
    """The parts of a lock that can change after setup: packages and the trainer's commit."""
    from fluxgen.checkouts import checkout_commit
    from fluxgen.envs.source import recorded_commit

    lock = env.lock()
    commit = checkout_commit(env.src) or recorded_commit(env.src)
    return {**lock, "packages": installed(env.python), "trainer": {**lock.get("trainer", {}), "commit": commit}}


def drift(env: SetupEnv) -> list[Change]:
    return compare(env.lock(), current_state(env))
