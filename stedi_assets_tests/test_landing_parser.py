"""The landing parser against the contract's validity and typing rules, on hand-written lines."""

import gzip

import pytest

from stedi_assets.schemas.tables import ACCELEROMETER_FIELDS, CUSTOMER_FIELDS, STEP_TRAINER_FIELDS
from stedi_assets.transforms.landing_parser import parse_file, parse_line


def accelerometer(line: str):
    return parse_line(line.encode(), ACCELEROMETER_FIELDS)


def test_valid_reading_is_typed():
    assert accelerometer('{"user": "A@b.com", "timestamp": 1655564444103, "x": 1, "y": -1.5, "z": 0.0}') == (
        ("A@b.com", 1655564444103, 1.0, -1.5, 0.0),
        None,
    )


def test_field_names_match_case_insensitively_and_unknown_fields_are_ignored():
    values, reason = accelerometer('{"user": "a@b.com", "timeStamp": 5, "X": 1.0, "battery": "low"}')
    assert reason is None
    assert values == ("a@b.com", 5, 1.0, None, None)


def test_integral_float_is_an_integer_and_fractional_float_is_not():
    assert accelerometer('{"user": "a", "timestamp": 1655564376361.0}')[0] == ("a", 1655564376361, None, None, None)
    values, reason = accelerometer('{"user": "a", "timestamp": 1655564376361.5}')
    assert values is None and "timestamp" in reason and "fractional" in reason


@pytest.mark.parametrize("bad", ['"1655564376361"', "true", "[1]", "1e400", "123456789012345678901234"])
def test_untypeable_integer_is_quarantined(bad):
    values, reason = accelerometer(f'{{"user": "a", "timestamp": {bad}}}')
    assert values is None and "timestamp" in reason


@pytest.mark.parametrize("bad", ['"1.0"', "false", "{}"])
def test_untypeable_double_is_quarantined(bad):
    values, reason = accelerometer(f'{{"user": "a", "timestamp": 1, "x": {bad}}}')
    assert values is None and "'x'" in reason


def test_number_where_text_expected_becomes_its_decimal_text():
    line = '{"email": "a@b.com", "phone": 8015551212, "serialNumber": 12.50}'
    values, reason = parse_line(line.encode(), CUSTOMER_FIELDS)
    assert reason is None
    assert values[2] == "8015551212" and values[4] == "12.50"


@pytest.mark.parametrize("bad", ["true", "[]", '{"a": 1}'])
def test_non_number_where_text_expected_is_quarantined(bad):
    values, reason = parse_line(f'{{"email": "a@b.com", "phone": {bad}}}'.encode(), CUSTOMER_FIELDS)
    assert values is None and "phone" in reason


@pytest.mark.parametrize(
    "line, fragment",
    [
        ('{"serialNumber": "s"}', "sensorReadingTime"),
        ('{"serialNumber": null, "sensorReadingTime": 1}', "serialNumber"),
        ('{"sensorReadingTime": 1, "serialNumber": "s", "distanceFromObject": 2', "invalid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"sensorReadingTime": NaN, "serialNumber": "s"}', "invalid JSON"),
        ('{"sensorReadingTime": 1, "SensorReadingTime": 1, "serialNumber": "s"}', "twice"),
    ],
)
def test_invalid_lines_say_why(line, fragment):
    values, reason = parse_line(line.encode(), STEP_TRAINER_FIELDS)
    assert values is None and fragment in reason


def test_invalid_utf8_is_quarantined():
    values, reason = parse_line(b'{"serialNumber": "\xff", "sensorReadingTime": 1}', STEP_TRAINER_FIELDS)
    assert values is None and "UTF-8" in reason


def test_every_nonblank_line_is_accounted_for_and_blank_lines_are_skipped():
    content = (
        b'{"serialNumber": "s", "sensorReadingTime": 1}\n\n  \r\n{"serialNumber": "s"}\r{"serialNumber": "t", "sens'
    )
    parsed = list(parse_file(content, STEP_TRAINER_FIELDS))
    assert [line.line_number for line in parsed] == [1, 4, 5]
    assert parsed[0].values == (1, "s", None) and parsed[0].reason is None
    assert parsed[1].values is None and parsed[1].raw_text == '{"serialNumber": "s"}'
    assert parsed[2].reason.startswith("invalid JSON")


def test_gzip_files_are_read_and_a_broken_one_is_quarantined():
    content = gzip.compress(b'{"serialNumber": "s", "sensorReadingTime": 1}\n')
    assert [line.values for line in parse_file(content, STEP_TRAINER_FIELDS, gzipped=True)] == [(1, "s", None)]
    broken = list(parse_file(b"not gzip", STEP_TRAINER_FIELDS, gzipped=True))
    assert len(broken) == 1 and "gzip" in broken[0].reason


def test_raw_text_is_cut_to_a_sane_size():
    (line,) = parse_file(b'{"x": "' + b"a" * 20000, STEP_TRAINER_FIELDS)
    assert len(line.raw_text) == 4096
