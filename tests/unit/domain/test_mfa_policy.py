"""DESIGN §4 requirement rule: every combination of action-required × enrollment × verified method."""

from __future__ import annotations

import itertools

import pytest

from actionmfa.domain.actions import MFAAction, MfaEnrollment, SessionScope
from actionmfa.domain.policy import is_required_for_action, session_scope_at_sign_in
from actionmfa.domain.settings import MfaActionSetting, MfaSettings

CASES = list(itertools.product([True, False], list(MfaEnrollment), [True, False], list(MFAAction)))


def _expected(action_required: bool, enrollment: MfaEnrollment, has_method: bool) -> bool:
    table = {
        # (action required, enrollment, has verified method) -> required
        (False, MfaEnrollment.NONE, False): False,
        (False, MfaEnrollment.NONE, True): False,
        (False, MfaEnrollment.SIGNUP, False): False,
        (False, MfaEnrollment.SIGNUP, True): False,
        (False, MfaEnrollment.ACTION, False): False,
        (False, MfaEnrollment.ACTION, True): False,
        (True, MfaEnrollment.NONE, False): False,
        (True, MfaEnrollment.NONE, True): True,
        (True, MfaEnrollment.SIGNUP, False): True,
        (True, MfaEnrollment.SIGNUP, True): True,
        (True, MfaEnrollment.ACTION, False): True,
        (True, MfaEnrollment.ACTION, True): True,
    }
    return table[(action_required, enrollment, has_method)]


@pytest.mark.parametrize(("action_required", "enrollment", "has_method", "action"), CASES)
def test_truth_table(
    action_required: bool, enrollment: MfaEnrollment, has_method: bool, action: MFAAction
) -> None:
    settings = MfaSettings(
        enrollment=enrollment, actions=[MfaActionSetting(action=action, required=action_required)]
    )
    assert settings.required is (enrollment is not MfaEnrollment.NONE)
    got = is_required_for_action(settings, action, has_verified_method=has_method)
    assert got is _expected(action_required, enrollment, has_method)
    # other actions, not listed in settings, are never required
    for other in MFAAction:
        if other is not action:
            assert is_required_for_action(settings, other, has_verified_method=has_method) is False


@pytest.mark.parametrize(
    ("enabled", "enrollment", "has_method"),
    list(itertools.product([True, False], list(MfaEnrollment), [True, False])),
)
def test_session_scope_at_sign_in(enabled: bool, enrollment: MfaEnrollment, has_method: bool) -> None:
    settings = MfaSettings(enabled=enabled, enrollment=enrollment)
    scope = session_scope_at_sign_in(settings, has_verified_method=has_method)
    pending = (enabled and has_method) or (enrollment is MfaEnrollment.SIGNUP and not has_method)
    assert scope is (SessionScope.REQUIRES_ADDITIONAL_AUTH if pending else SessionScope.USER_BASIC)
