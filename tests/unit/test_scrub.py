"""Masking secrets: registered values, credential-shaped text, and log records."""

from __future__ import annotations

import logging
import sys

import pytest

from db2api.scrub import MASK, Scrubber, ScrubFilter

SECRETS = ["hunter22-long-password", "hunter22", "K3y-0f-the-API"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed for password hunter22", "login failed for password ***"),
        # Longest first: the longer secret is masked whole, not as '***-long-password'.
        ("pw=hunter22-long-password;", "pw=***;"),
        ("hunter22 and hunter22-long-password", "*** and ***"),
        ("key K3y-0f-the-API twice K3y-0f-the-API", "key *** twice ***"),
        ("nothing secret here", "nothing secret here"),
        ("", ""),
    ],
)
def test_registered_secrets_are_masked(text, expected):
    assert Scrubber(SECRETS)(text, patterns=False) == expected


@pytest.mark.parametrize("short", ["a", "ab", "2024", "hunter7"])
def test_a_short_secret_is_masked_only_as_a_whole_value(short):
    scrubber = Scrubber()

    assert scrubber.add(short) is False
    text = f"at {short}-01-01 {short}x a cab is abc"
    assert scrubber(text, patterns=False) == text
    assert scrubber(short, patterns=False) == MASK
    assert scrubber(f" {short}\n", patterns=False) == MASK
    assert scrubber.scrub_value({"pw": short, "at": f"{short}-01"}) == {
        "pw": MASK,
        "at": f"{short}-01",
    }


@pytest.mark.parametrize("empty", ["", None])
def test_nothing_is_registered_for_an_empty_value(empty):
    scrubber = Scrubber()

    assert scrubber.add(empty) is True
    assert scrubber("", patterns=False) == ""


def test_a_secret_of_eight_characters_is_masked_inside_text():
    scrubber = Scrubber()

    assert scrubber.add("8chars!!") is True
    assert scrubber("said 8chars!!.", patterns=False) == "said ***."


def test_secrets_added_later_are_masked_longest_first():
    scrubber = Scrubber(["abcdefgh"])
    scrubber.add("abcdefghijkl")
    scrubber.add("abcdefgh")  # registering twice changes nothing

    assert scrubber("[abcdefghijkl] [abcdefgh]", patterns=False) == "[***] [***]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # URL userinfo, for any scheme.
        (
            "cannot connect to postgresql://reader:s3cret@db.example.org:5432/readings",
            "cannot connect to postgresql://***@db.example.org:5432/readings",
        ),
        ("POST https://elastic:changeme@es:9200/_bulk", "POST https://***@es:9200/_bulk"),
        ("oracle+oracledb://u:p@host/svc", "oracle+oracledb://***@host/svc"),
        # A URL without a password is left alone.
        ("https://search.example.org/a@b", "https://search.example.org/a@b"),
        # Authorization headers in text ...
        ("Authorization: Bearer eyJhbGciOi.abc", "Authorization: ***"),
        ("authorization=ApiKey abc123", "authorization=***"),
        (
            "headers: Authorization: Basic dXNlcjpwYXNz\nnext line",
            "headers: Authorization: ***\nnext line",
        ),
        # ... and in JSON, keeping the JSON shape.
        (
            '{"Authorization": "ApiKey abc123==", "Accept": "application/json"}',
            '{"Authorization": "***", "Accept": "application/json"}',
        ),
        ("{'authorization': 'Bearer x.y.z'}", "{'authorization': '***'}"),
        # Other credential headers, in text and in JSON.
        (
            "request headers: X-Api-Key: k-123, Accept: */*",
            "request headers: X-Api-Key: ***, Accept: */*",
        ),
        ('{"x-api-key": "k-123"}', '{"x-api-key": "***"}'),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: ***"),
        # password=... style pairs.
        ("dsn: host=db password=s3cret user=reader", "dsn: host=db password=*** user=reader"),
        ("?user=me&PASSWORD=s3cret&x=1", "?user=me&PASSWORD=***&x=1"),
        ("pwd=abc;Server=x", "pwd=***;Server=x"),
        ("api_key=abc123 api-key=def456 apikey=ghi789", "api_key=*** api-key=*** apikey=***"),
        ("token=t0k3n&secret=sh", "token=***&secret=***"),
        # Plain words are untouched.
        ("the password is required", "the password is required"),
    ],
)
def test_credential_shaped_text_is_masked(text, expected):
    assert Scrubber()(text) == expected


@pytest.mark.parametrize("text", ["password='s3cret'", 'dsn: password="s3cret" host=db'])
def test_quoted_password_pairs_are_masked(text):
    assert "s3cret" not in Scrubber()(text)


def test_patterns_false_masks_only_registered_secrets():
    scrubber = Scrubber(["hunter22"])
    text = "password=other https://u:p@host Authorization: Bearer x hunter22"

    assert scrubber(text, patterns=False) == (
        "password=other https://u:p@host Authorization: Bearer x ***"
    )
    assert scrubber(text) == "password=*** https://***@host Authorization: ***"


def make_record(msg, args=(), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("db2api.test", logging.ERROR, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize(
    ("msg", "args", "expected"),
    [
        ("connecting with %s", ("hunter22",), "connecting with ***"),
        ("connecting with hunter22", (), "connecting with ***"),
        ("GET %s -> %d", ("https://u:pw@host/x", 401), "GET https://***@host/x -> 401"),
        ("%(who)s used %(pw)s", ({"who": "me", "pw": "hunter22"},), "me used ***"),
    ],
)
def test_scrub_filter_masks_message_and_args(msg, args, expected):
    record = make_record(msg, args)

    assert ScrubFilter(Scrubber(["hunter22"])).filter(record) is True

    assert record.getMessage() == expected
    assert "hunter22" not in str(record.args)


def test_scrub_filter_leaves_clean_records_alone():
    record = make_record("step %s took %d ms", ("load", 12))

    ScrubFilter(Scrubber(["hunter22"])).filter(record)

    assert (record.msg, record.args) == ("step %s took %d ms", ("load", 12))


def exc_info_with(text):
    try:
        raise RuntimeError(text)
    except RuntimeError:
        return sys.exc_info()


def test_scrub_filter_masks_an_exception_and_drops_its_traceback():
    record = make_record("load failed", exc_info=exc_info_with("login hunter22 refused"))

    ScrubFilter(Scrubber(["hunter22"])).filter(record)

    assert record.exc_info is None
    assert record.getMessage() == "load failed (login *** refused)"
    assert "hunter22" not in logging.Formatter().format(record)


def test_scrub_filter_keeps_a_record_with_args_formattable():
    record = make_record("step %s failed", ("load",), exc_info_with("hunter22 refused at 100%"))

    ScrubFilter(Scrubber(["hunter22"])).filter(record)

    assert record.getMessage() == "step load failed (*** refused at 100%)"


def test_the_filter_masks_what_a_handler_writes(tmp_path):
    path = tmp_path / "log.txt"
    handler = logging.FileHandler(path)
    handler.addFilter(ScrubFilter(Scrubber(["hunter22"])))
    logger = logging.getLogger("db2api.test.scrub")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("retrying with %s at %s", "hunter22", "https://user:pw@host")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        handler.close()

    assert path.read_text() == f"retrying with {MASK} at https://{MASK}@host\n"
