"""Fuzzing the landing parser: it never raises, accounts for every record, and agrees with the reference.

The reference (`reference.py`) is an independent implementation of the contract's rules, so
any disagreement on a generated line is a bug in one of the two.
"""

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from stedi_assets.schemas.tables import SOURCE_FIELDS
from stedi_assets.transforms.landing_parser import parse_file, parse_record, typing_plan
from stedi_assets_tests.reference import CONTRACT_FIELDS, InvalidLine
from stedi_assets_tests.reference import parse_file as reference_parse_file
from stedi_assets_tests.reference import parse_line as reference_parse_line

NAMES = sorted({name for fields in CONTRACT_FIELDS.values() for name in fields})
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=2) | st.dictionaries(st.text(max_size=4), children, max_size=2),
    max_leaves=4,
)
field_names = st.sampled_from(NAMES).flatmap(lambda n: st.sampled_from([n, n.lower(), n.upper()])) | st.text(max_size=6)
objects = st.lists(st.tuples(field_names, json_values), max_size=7)


def object_line(pairs) -> bytes:
    """A JSON object, possibly with repeated names (json.dumps of a dict could not write those)."""
    return ("{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}").encode()


lines = st.one_of(
    objects.map(object_line),
    st.tuples(objects.map(object_line), st.integers(0, 40)).map(lambda t: t[0][: t[1]]),  # truncated
    st.binary(max_size=40),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b'{"user": "\\ud800", "timestamp": 1}', b'{"user": "a", "timestamp": 1, "b": 1, "B": 2}']),
)


@settings(max_examples=600, deadline=None)
@given(line=lines, source=st.sampled_from(sorted(SOURCE_FIELDS)))
def test_parser_agrees_with_the_reference(line, source):
    if not line.strip() or len(line.splitlines()) != 1:
        return
    assert_parsed_as_by_the_reference(line, source)


def assert_parsed_as_by_the_reference(line: bytes, source: str) -> None:
    values, reason = parse_record(line, typing_plan(SOURCE_FIELDS[source]))
    try:
        expected = reference_parse_line(line, source)
    except InvalidLine:
        assert values is None and reason, line
    else:
        assert reason is None and values == expected, (line, reason)
        # -0.0 == 0.0, so the signs are compared too
        signs = [[math.copysign(1, v) for v in row if isinstance(v, float)] for row in (values, expected)]
        assert signs[0] == signs[1], line


def array_file(elements, separator, truncate_at) -> bytes:
    """A file that is one JSON array, written compactly or pretty-printed, maybe cut short."""
    content = b"[" + separator.join(elements) + b"]\n"
    return content[:truncate_at] if truncate_at is not None else content


arrays = st.builds(
    array_file,
    st.lists(
        lines | st.sampled_from([b'{"user": "a", "timestamp": 1}', b'{"user": "\xff", "timestamp": 1}']), max_size=6
    ),
    st.sampled_from([b",", b", ", b",\n  ", b"\r\n,"]),
    st.none() | st.integers(0, 60),
)
ndjson = st.lists(lines | st.sampled_from([b"", b"  ", b"\t"]), max_size=12).map(b"\n".join)
# The same files behind a byte-order mark, or in another encoding.
encoded = st.tuples(ndjson | arrays, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"])).map(
    lambda pair: pair[0].decode("utf-8", "replace").encode(pair[1])
)


@settings(max_examples=400, deadline=None)
@given(content=ndjson | arrays | encoded)
def test_every_record_is_a_typed_row_or_a_quarantine_row_as_in_the_reference(content):
    parsed = list(parse_file(content, SOURCE_FIELDS["accelerometer"]))
    assert all((line.values is None) == bool(line.reason) == (line.raw_text is not None) for line in parsed)
    expected = reference_parse_file(content, "accelerometer")
    assert [(line.line_number, line.values) for line in parsed] == expected, content


# Lines as exports write them: every field of the source once, in the contract's order, its name in any case, with
# values at and past the edges of what the parser reads off the bytes without the JSON decoder
# (`landing_parser._plain_record`): text with and without escapes or non-ASCII characters, integers of 18 digits
# and more, decimals with many digits or an exponent, negative zero, null.
spacing = st.sampled_from(["", " ", "\t", "  "])
numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.integers(-(10**18), 10**18).map(lambda n: f"{n}.{'0' * (abs(n) % 3 + 1)}"),
    st.builds("{}.{}".format, st.integers(-(10**19), 10**19), st.text("0123456789", min_size=1, max_size=24)),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["-0", "-0.0", "0.0", "1e3", "1E-2", "00", "-", "1.", "9223372036854775807"]),
)
texts = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é\u2028\U0001f600"), max_size=8).map(json.dumps)
any_value = st.one_of(numbers, texts, st.just("null"), st.sampled_from(["true", "[]", "{}"]))
# Mostly a value of the field's type, so that whole lines are often valid.
typed_values = {"string": texts, "bigint": numbers, "double": numbers}


@st.composite
def exported_lines(draw, source: str) -> bytes:
    pairs = []
    for field in SOURCE_FIELDS[source]:
        value = draw(typed_values[field.spark_type.simpleString()] if draw(st.integers(0, 4)) else any_value)
        name = draw(st.sampled_from([field.name, field.name.lower(), field.name.upper()]))
        pairs.append(f'"{name}"{draw(spacing)}:{draw(spacing)}{value}')
    return ("{" + draw(spacing) + f"{draw(spacing)},{draw(spacing)}".join(pairs) + draw(spacing) + "}").encode()


@settings(max_examples=1500, deadline=None)
@given(data=st.data(), source=st.sampled_from(sorted(SOURCE_FIELDS)))
def test_lines_in_the_exported_shape_agree_with_the_reference(data, source):
    assert_parsed_as_by_the_reference(data.draw(exported_lines(source)), source)
