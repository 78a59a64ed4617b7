"""Dynamic's own JS clients, unchanged, run the whole MFA story against ActionMFA.

``sdk_api_story.mjs`` drives ``SDKApi`` of ``@dynamic-labs/sdk-api-core@0.40.0`` (pinned by
``package-lock.json``) against a live server (uvicorn on a loopback port) through settings, email
and external-JWT sign-in, TOTP enrolment, devices, recovery codes, TOTP / recovery / passkey MFA
authentication (MFA tokens and elevated tokens), step-up, a gated device delete, refresh and revoke.
Every response must pass the package's own ``*FromJSON`` and then a strict check against the model
the package declares (``dynamic_models.mjs``): required fields present, enums within their members,
no ``null`` where the model has none. ``client_story.mjs`` drives the MFA functions of Dynamic's
higher-level SDK, ``@dynamic-labs-sdk/client@1.27.1``, pointed at the server by ``apiBaseUrl``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actionmfa.clock import FrozenClock
from actionmfa.config import ServerConfig, SmtpConfig
from actionmfa.crypto import Keyring
from actionmfa.services.runtime import Runtime
from actionmfa.store.db import Database
from tests.compat.node import NodeRun, install_packages, node_tools, run_script
from tests.compat.world import World, WorldServer
from tests.conftest import make_environment
from tests.live_server import serve
from tests.mailsink import SmtpSink


@dataclass(frozen=True)
class Stage:
    """A live server with one environment configured for the story, and the world around it."""

    env: dict[str, str]

    def run(self, script: str) -> NodeRun:
        result = run_script(script, self.env)
        print(result.stdout)  # the story's own log, shown by pytest on failure
        return result


@pytest.fixture(scope="module")
def node_packages() -> None:
    node_tools()
    install_packages()


@pytest.fixture
def stage(node_packages: None, sqlite_url: str, tmp_path: Path, keyring: Keyring) -> Iterator[Stage]:
    # Near the wall clock: Dynamic's clients compare token expiries with their own clock.
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    with SmtpSink() as mail:
        world = World(clock=clock, mail=mail)
        config = ServerConfig(
            data_dir=tmp_path / "data",
            smtp=SmtpConfig(host="127.0.0.1", port=mail.port, sender="Acme <auth@acme.test>"),
        )
        runtime = Runtime.build(config, clock=clock, keyring=keyring, db=Database(sqlite_url))
        environment = make_environment(runtime, "Dynamic compat", world.settings())
        try:
            with serve(runtime) as server, WorldServer(world) as world_url:
                yield Stage(
                    env={
                        "ACTIONMFA_BASE_URL": f"{server.url}/api/v0",
                        "ACTIONMFA_ENVIRONMENT_ID": environment.id,
                        "ACTIONMFA_WORLD_URL": world_url,
                    }
                )
        finally:
            runtime.db.dispose()




def test_dynamic_generated_client_runs_the_whole_story(stage: Stage) -> None:
    result = stage.run("sdk_api_story.mjs")
    assert result.returncode == 0 and not result.failures, (
        "Dynamic's SDKApi could not run the story:\n" + "\n".join(result.failures) + "\n" + result.stderr[-2000:]
    )


def test_dynamic_js_sdk_runs_its_mfa_functions(stage: Stage) -> None:
    result = stage.run("client_story.mjs")
    assert result.returncode == 0 and not result.failures, (
        "Dynamic's @dynamic-labs-sdk/client could not run its MFA functions:\n" + "\n".join(result.failures)
        + "\n" + result.stderr[-2000:]
    )


def test_the_strict_model_check_catches_what_fromjson_lets_through(node_packages: None) -> None:
    result = run_script("checker_selftest.mjs", {})
    assert result.returncode == 0 and not result.failures, result.stdout + result.stderr
