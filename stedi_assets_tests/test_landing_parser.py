"""The landing parser against the contract's validity and typing rules, on hand-written lines."""

import gzip

import pytest

from stedi_assets.options import parse_size, size_text
from stedi_assets.schemas.tables import ACCELEROMETER_FIELDS, CUSTOMER_FIELDS, STEP_TRAINER_FIELDS
from stedi_assets.transforms.landing_parser import Limits, parse_file, parse_record, typing_plan


def accelerometer(line: str):
    return parse_record(line.encode(), typing_plan(ACCELEROMETER_FIELDS))


def test_valid_reading_is_typed():
    assert accelerometer('{"user": "A@b.com", "timestamp": 1655564444103, "x": 1, "y": -1.5, "z": 0.0}') == (
        ("A@b.com", 1655564444103, 1.0, -1.5, 0.0),
        None,
    )


def test_field_names_match_case_insensitively_and_unknown_fields_are_ignored():
    values, reason = accelerometer('{"user": "a@b.com", "timeStamp": 5, "X": 1.0, "battery": "low"}')
    assert reason is None
    assert values == ("a@b.com", 5, 1.0, None, None)


def test_a_repeated_unknown_field_is_ignored_too():
    assert accelerometer('{"user": "a", "timestamp": 1, "battery": 1, "Battery": 2}')[1] is None


def test_text_with_an_unpaired_surrogate_escape_is_quarantined():
    values, reason = accelerometer('{"user": "\\ud800", "timestamp": 1}')
    assert values is None and reason.startswith("field 'user': text with an unpaired surrogate")
    assert accelerometer('{"user": "\\ud83d\\ude00", "timestamp": 1}')[0][0] == "\U0001f600"  # a paired one is fine


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
    values, reason = parse_record(line.encode(), typing_plan(CUSTOMER_FIELDS))
    assert reason is None
    assert values[2] == "8015551212" and values[4] == "12.50"


@pytest.mark.parametrize("bad", ["true", "[]", '{"a": 1}'])
def test_non_number_where_text_expected_is_quarantined(bad):
    values, reason = parse_record(f'{{"email": "a@b.com", "phone": {bad}}}'.encode(), typing_plan(CUSTOMER_FIELDS))
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
    values, reason = parse_record(line.encode(), typing_plan(STEP_TRAINER_FIELDS))
    assert values is None and fragment in reason


def test_invalid_utf8_is_quarantined():
    values, reason = parse_record(b'{"serialNumber": "\xff", "sensorReadingTime": 1}', typing_plan(STEP_TRAINER_FIELDS))
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


def test_gzip_files_are_read_and_a_broken_one_is_one_quarantine_row():
    content = gzip.compress(b'{"serialNumber": "s", "sensorReadingTime": 1}\n')
    assert [line.values for line in parse_file(content, STEP_TRAINER_FIELDS, gzipped=True)] == [(1, "s", None)]
    for broken, reason in [(b"not gzip", "Not a gzipped file"), (content[:-12], "end-of-stream marker")]:
        (line,) = parse_file(broken, STEP_TRAINER_FIELDS, gzipped=True)
        assert line.line_number == 1 and line.values is None
        assert line.reason.startswith("unreadable gzip file: ") and reason in line.reason


def test_a_file_that_is_one_json_array_lands_one_record_per_element():
    content = (
        b'[\n  {"serialNumber": "s", "sensorReadingTime": 1},\n  {\n    "serialNumber": "t"\n  },\n  42,\n'
        b'  {"serialNumber": "\xff", "sensorReadingTime": 2}, {"serialNumber": "u", "sensorReadingTime": 3.0}\n]\n'
    )
    parsed = list(parse_file(gzip.compress(content), STEP_TRAINER_FIELDS, gzipped=True))
    assert [line.line_number for line in parsed] == [1, 2, 3, 4, 5]  # the position in the array
    assert [line.values for line in parsed] == [(1, "s", None), None, None, None, (3, "u", None)]
    assert parsed[1].raw_text == '{\n    "serialNumber": "t"\n  }'  # the element as written
    assert parsed[1].reason == "missing key field 'sensorReadingTime'"
    assert parsed[2].reason == "not a JSON object (found: number)"
    assert parsed[3].reason.startswith("invalid UTF-8")
    assert list(parse_file(b" [ ]\n", STEP_TRAINER_FIELDS)) == []


@pytest.mark.parametrize(
    "content",
    [
        b'[\n  {"serialNumber": "s", "sensorReadingTime": 1},\n  {"serialNumber": "t", "sens',  # truncated
        b'[{"serialNumber": "s", "sensorReadingTime": 1}]\n{"serialNumber": "s", "sensorReadingTime": 2}\n',
        b'[{"serialNumber": "s", "sensorReadingTime": NaN}]\n',
    ],
)
def test_a_file_that_is_not_exactly_one_array_is_read_line_by_line(content):
    parsed = list(parse_file(content, STEP_TRAINER_FIELDS))
    assert [line.line_number for line in parsed] == [
        n for n, line in enumerate(content.splitlines(), 1) if line.strip()
    ]
    assert parsed[0].reason is not None


def test_raw_text_is_cut_to_a_sane_size():
    (line,) = parse_file(b'{"x": "' + b"a" * 20000, STEP_TRAINER_FIELDS)
    assert len(line.raw_text) == 4096


def test_a_utf8_byte_order_mark_is_not_data():
    line = '{"user": "a@x.com", "timestamp": 1}'
    for content in (f"\ufeff{line}\n{line}\n", f"\ufeff[{line}, {line}]"):
        parsed = list(parse_file(content.encode(), ACCELEROMETER_FIELDS))
        assert [(p.line_number, p.reason) for p in parsed] == [(1, None), (2, None)], content


@pytest.mark.parametrize(
    "encoding, name",
    [
        ("utf-16", "UTF-16 (little-endian)"),  # Python writes the byte-order mark
        ("utf-16-be", "UTF-16 (big-endian)"),
        ("utf-16-le", "UTF-16 (little-endian)"),
        ("utf-32", "UTF-32 (little-endian)"),
    ],
)
def test_a_file_in_another_encoding_is_quarantined_line_by_line_naming_it(encoding, name):
    content = '{"user": "a@x.com", "timestamp": 1}\n\n{"user": "b@x.com", "timestamp": 2}\n'.encode(encoding)
    parsed = list(parse_file(content, ACCELEROMETER_FIELDS))
    assert [p.line_number for p in parsed] == sorted({p.line_number for p in parsed}) and len(parsed) >= 2
    assert all(p.values is None and p.reason.startswith(f"the file is {name}, not UTF-8") for p in parsed)


GOOD_READING = b'{"user": "a@x.com", "timestamp": 1}'
SMALL = Limits(file_bytes=10_000, record_bytes=100)


def test_a_gzip_bomb_is_one_quarantine_row_naming_the_limit():
    """Decompressed no further than the limit: 10 MB of zeros past a 10,000-byte limit is one row."""
    (line,) = parse_file(gzip.compress(bytes(10_000_000)), ACCELEROMETER_FIELDS, gzipped=True, limits=SMALL)
    assert (line.line_number, line.values) == (1, None)
    assert line.reason.startswith("the file is over 10,000 bytes once decompressed") and "max_file_size" in line.reason
    (line,) = parse_file(bytes(10_001), ACCELEROMETER_FIELDS, limits=SMALL)
    assert line.reason.startswith("the file is over 10,000 bytes, the largest landing file read (max_file_size)")


def test_a_file_at_the_limit_is_read_and_a_record_past_its_limit_is_quarantined_naming_it():
    long_line = b'{"user": "' + b"a" * 100 + b'", "timestamp": 2}'
    content = b"\n".join([GOOD_READING, long_line, b" " * 500, GOOD_READING])  # a long blank line is still blank
    content += b"\n" + bytes(SMALL.file_bytes - len(content) - 1)  # exactly at the file limit: one long line more
    parsed = list(parse_file(content, ACCELEROMETER_FIELDS, limits=SMALL))
    assert [(p.line_number, p.reason is None) for p in parsed] == [(1, True), (2, False), (4, True), (5, False)]
    assert (
        parsed[1].reason
        == parsed[3].reason
        == ("the record is over 100 bytes, the largest landing record read (max_record_size)")
    )
    assert parsed[1].raw_text.startswith('{"user": "aaa')
    array = b"[" + GOOD_READING + b", " + long_line + b"]"
    assert [p.reason is None for p in parse_file(array, ACCELEROMETER_FIELDS, limits=SMALL)] == [True, False]


def test_every_member_of_a_gzip_is_read_and_padding_after_it_is_not_data():
    members = gzip.compress(GOOD_READING + b"\n") + gzip.compress(GOOD_READING + b"\n" + GOOD_READING)
    parsed = list(parse_file(members + bytes(1024), ACCELEROMETER_FIELDS, gzipped=True))
    assert [(p.line_number, p.values) for p in parsed] == [(n, ("a@x.com", 1, None, None, None)) for n in (1, 2, 3)]


@pytest.mark.parametrize("text, size", [("1GiB", 2**30), ("512 KiB", 512 * 1024), ("2MiB", 2 * 2**20), ("100", 100)])
def test_sizes_are_written_as_people_write_them(text, size):
    assert parse_size(text) == size
    assert parse_size(size_text(size).replace(",", "").removesuffix(" bytes")) == size


@pytest.mark.parametrize("text", ["1TB", "0", "-1", "one", "1.5GiB", ""])
def test_a_size_that_is_not_one_is_refused_saying_how_to_write_it(text):
    with pytest.raises(ValueError, match="for example 1GiB"):
        parse_size(text)
