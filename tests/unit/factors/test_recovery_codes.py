from __future__ import annotations

import pytest

from actionmfa.factors import recovery


def test_ten_distinct_codes_of_ten_unambiguous_characters() -> None:
    codes = recovery.generate_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert len(code) == 10
        assert set(code) <= set(recovery.ALPHABET)
        assert not set(code) & set("01ILOU")
        assert code.isalnum()


def test_case_insensitive_and_grouping_tolerated() -> None:
    code = recovery.generate_codes(1)[0]
    assert recovery.normalize_code(code.lower()) == code
    assert recovery.normalize_code(f" {code[:5]}-{code[5:]} ") == code


@pytest.mark.parametrize(
    "raw", ["", "ABCDEFGHJ", "ABCDEFGHJKM", "ABCDEFGH0K", "ABCDEFGHJ\x00", "Ａ" * 10, None, "2" * 10_000]
)
def test_malformed(raw: object) -> None:
    # (full-width 'Ａ' normalises to 'A', so ten of them is a well-formed code)
    if raw == "Ａ" * 10:
        assert recovery.normalize_code(raw) == "A" * 10
    else:
        assert recovery.normalize_code(raw) is None
