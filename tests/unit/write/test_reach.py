"""The Authorization header a job's target gets: Basic credentials encoded, other schemes
as given."""

from __future__ import annotations

import pytest

from db2api.write.reach import auth_header


@pytest.mark.parametrize(
    ("scheme", "value", "header"),
    [
        ("Basic", "elastic:changeme", "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="),
        ("basic", "user:p@ss:word", "Basic dXNlcjpwQHNzOndvcmQ="),
        ("ApiKey", "a2V5OnNlY3JldA==", "ApiKey a2V5OnNlY3JldA=="),
        ("Bearer", "token-1", "Bearer token-1"),
        ("", "raw-header-value", "raw-header-value"),
    ],
)
def test_basic_credentials_are_encoded_and_other_schemes_kept(
    scheme: str, value: str, header: str
) -> None:
    assert auth_header(scheme, value) == header
