"""Turn landed bytes into typed records or quarantine rows, by the contract's rules.

Plain Python with no Spark, so it is easy to fuzz and runs unchanged inside a
Spark Python worker (locally or on Glue).
"""

import codecs
import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from pyspark.sql import types as T

from stedi_assets.options import StediOptions, size_text
from stedi_assets.schemas.tables import ColumnSpec

RAW_TEXT_LIMIT = 4096
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ParsedLine(NamedTuple):
    line_number: int
    values: tuple | None  # typed field values, in the source's field order; None when quarantined
    raw_text: str | None  # set only for quarantined lines
    reason: str | None


class NotTypeable(ValueError):
    pass


class JsonNumber(str):
    """A JSON number kept as the text it was written with (so `12.50` stays `"12.50"` as text)."""

    is_float = False


class JsonFloat(JsonNumber):
    is_float = True


class JsonObject(list):
    """A JSON object as its (name, value) pairs, so a repeated field is seen, not silently dropped."""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(
    parse_int=JsonNumber, parse_float=JsonFloat, parse_constant=_reject_constant, object_pairs_hook=JsonObject
)


def _as_string(value):
    if isinstance(value, str):
        if not value.isascii() and any("\ud800" <= char <= "\udfff" for char in value):
            raise NotTypeable("text with an unpaired surrogate escape (\\ud800-\\udfff)")  # not storable as UTF-8
        return str(value)
    raise NotTypeable(f"a {_kind(value)} where text is expected")


def _as_integer(value):
    if not isinstance(value, JsonNumber):
        raise NotTypeable(f"a {_kind(value)} where an integer is expected")
    if not value.is_float:  # written as an integer: exact with int(), and more than 20 characters is out of range
        number = int(value) if len(value) <= 20 else INT64_MAX + 1
        if not INT64_MIN <= number <= INT64_MAX:
            raise NotTypeable(f"integer {value} out of the 64-bit range")
        return number
    exact = Decimal(value)  # e.g. 1.0 or 1e3
    if exact.adjusted() > 18 or not INT64_MIN <= exact <= INT64_MAX:
        raise NotTypeable(f"integer {value} out of the 64-bit range")
    if exact != exact.to_integral_value():
        raise NotTypeable(f"fractional number {value} where an integer is expected")
    return int(exact)


def _as_double(value):
    if not isinstance(value, JsonNumber):
        raise NotTypeable(f"a {_kind(value)} where a number is expected")
    number = float(value)
    if not math.isfinite(number):
        raise NotTypeable(f"number {value} out of the double range")
    return number


def _kind(value) -> str:
    if isinstance(value, JsonNumber):
        return "number"
    return {str: "string", bool: "boolean", JsonObject: "object", list: "array", type(None): "null"}[type(value)]


_CONVERTERS = {T.StringType(): _as_string, T.LongType(): _as_integer, T.DoubleType(): _as_double}


# A plain record: the source's fields in the contract's order, each once (in any case), each value plain
# (ASCII text without escapes, an integer of at most 18 digits, a decimal without an exponent) or null where the
# field may be null. Nearly every exported line is one. Its values, read off the bytes with int and float, are
# those the JSON decoder and `type_record` give for the same text, at less cost; every other record takes the
# full path. docs/architecture.md (Speed) has the measurements, and those of Spark's JSON reader, slower here.
_PLAIN_VALUES = {
    T.StringType(): (rb'"([\x20\x21\x23-\x5b\x5d-\x7e]*)"', bytes.decode),
    T.LongType(): (rb"(-?(?:0|[1-9][0-9]{0,17}))", int),
    T.DoubleType(): (rb"(-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,20})?)", float),
}


def _plain_record(fields: tuple[ColumnSpec, ...]) -> re.Pattern:
    values = []
    for field in fields:
        value = _PLAIN_VALUES[field.spark_type][0]
        if field.nullable:
            value = rb"(?:" + value + rb"|null)"
        values.append(rb'"(?i:' + field.name.encode() + rb')"[ \t]*:[ \t]*' + value)  # ASCII case-insensitive
    return re.compile(rb"\{[ \t]*" + rb"[ \t]*,[ \t]*".join(values) + rb"[ \t]*\}")


class TypingPlan(NamedTuple):
    """A source's fields as the parser uses them, worked out once per file rather than once per record."""

    names: frozenset[str]
    by_lower_name: dict[str, str]  # lower-cased field name: field name
    fields: tuple[tuple, ...]  # (name, nullable, converter)
    plain_record: re.Pattern  # a plain record (`_plain_record`), one group per field
    plain_converters: tuple  # each group's text to its value


def typing_plan(fields: tuple[ColumnSpec, ...]) -> TypingPlan:
    return TypingPlan(
        frozenset(f.name for f in fields),
        {f.name.lower(): f.name for f in fields},
        tuple((f.name, f.nullable, _CONVERTERS[f.spark_type]) for f in fields),
        _plain_record(fields),
        tuple(_PLAIN_VALUES[f.spark_type][1] for f in fields),
    )


def _fields_by_name(obj: JsonObject, plan: TypingPlan) -> dict[str, object]:
    """The source's fields in `obj`, matched case-insensitively; unknown fields are ignored, even when repeated."""
    found: dict[str, object] = {}
    for name, value in obj:
        field = plan.by_lower_name.get(name.lower())
        if field is None:
            continue
        if field in found:
            raise NotTypeable(f"field '{name}' given twice (names match case-insensitively)")
        found[field] = value
    return found


def type_record(obj: JsonObject, plan: TypingPlan) -> tuple:
    """Type one JSON object; raises NotTypeable with a reason a person understands."""
    by_name = dict(obj)
    if len(by_name) != len(obj) or not by_name.keys() <= plan.names:  # not simply the fields, each once, as named
        by_name = _fields_by_name(obj, plan)
    values = []
    for name, nullable, convert in plan.fields:
        value = by_name.get(name)
        if value is None:
            if not nullable:
                raise NotTypeable(f"missing key field '{name}'")
            values.append(None)
            continue
        try:
            values.append(convert(value))
        except NotTypeable as error:
            raise NotTypeable(f"field '{name}': {error}") from None
    return tuple(values)


def parse_record(line: bytes, plan: TypingPlan) -> tuple[tuple | None, str | None]:
    """One record (a line, or an array's element): (typed values, None) if valid, (None, reason) otherwise."""
    plain = plan.plain_record.fullmatch(line)
    if plain:
        return tuple(
            None if text is None else to(text) for to, text in zip(plan.plain_converters, plain.groups())
        ), None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"invalid UTF-8 at byte {error.start}"
    try:
        obj = _DECODER.decode(text)
    except (ValueError, RecursionError) as error:
        return None, f"invalid JSON: {error}"
    if not isinstance(obj, JsonObject):
        return None, f"not a JSON object (found: {_kind(obj)})"
    try:
        return type_record(obj, plan), None
    except NotTypeable as error:
        return None, str(error)


def _array_elements(content: bytes) -> list[bytes] | None:
    """Each element's bytes when the whole file is one JSON array, else None (the file is read line by line).

    Invalid UTF-8 inside an element is kept (surrogateescape), so it quarantines that element only.
    """
    if not re.match(rb"[ \t\n\r]*\[", content):
        return None
    text = content.decode("utf-8", "surrogateescape")
    try:
        _DECODER.decode(text)
    except (ValueError, RecursionError):
        return None
    elements, pos = [], _JSON_SPACE.match(text, text.index("[") + 1).end()
    while text[pos] != "]":
        end = _DECODER.raw_decode(text, pos)[1]
        elements.append(text[pos:end].encode("utf-8", "surrogateescape"))
        pos = _JSON_SPACE.match(text, end).end()
        if text[pos] == ",":
            pos = _JSON_SPACE.match(text, pos + 1).end()
    return elements


# Byte-order marks of the encodings a JSON export may come in instead of UTF-8 (UTF-32's first: it begins with
# UTF-16's).
FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"),
)


def foreign_encoding(content: bytes) -> str | None:
    """The encoding a file is in when it is not UTF-8: named by its byte-order mark, or UTF-16 without one, when
    its first two characters are ASCII each written beside a zero byte (JSON text starts with ASCII)."""
    for bom, name in FOREIGN_BOMS:
        if content.startswith(bom):
            return name
    ascii_pair = content[:4]
    if len(ascii_pair) == 4 and all(0 < byte < 0x80 for byte in ascii_pair[0::2]) and not any(ascii_pair[1::2]):
        return "UTF-16 (little-endian)"
    if len(ascii_pair) == 4 and all(0 < byte < 0x80 for byte in ascii_pair[1::2]) and not any(ascii_pair[0::2]):
        return "UTF-16 (big-endian)"
    return None


class Limits(NamedTuple):
    """The largest landing file (once decompressed) and record the parser reads (`StediOptions`). Past them, a
    quarantine row names the limit, and memory stays bounded: a gzip is decompressed no further than the limit."""

    file_bytes: int = StediOptions.max_file_size
    record_bytes: int = StediOptions.max_record_size


DEFAULT_LIMITS = Limits()


def file_over_limit(limit: int, once_decompressed: bool = False) -> str:
    """The reason of a file past the size limit: one quarantine row stands for the whole file."""
    decompressed = " once decompressed" if once_decompressed else ""
    return (
        f"the file is over {size_text(limit)}{decompressed}, the largest landing file read (max_file_size): "
        "split it into smaller files and land them"
    )


def record_over_limit(limit: int) -> str:
    return f"the record is over {size_text(limit)}, the largest landing record read (max_record_size)"


def _decompressed(content: bytes, limit: int) -> tuple[bytes | None, str | None]:
    """A gzip file's bytes, read no further than `limit` + 1 (a gzip bomb stops there), or why there are none.

    Python's gzip reads multi-member files and skips the NUL padding some tools write after the stream."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
            data = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as error:
        return None, f"unreadable gzip file: {error}"
    if len(data) > limit:
        return data[:RAW_TEXT_LIMIT], file_over_limit(limit, once_decompressed=True)
    return data, None


_LINE_BREAK = re.compile(rb"\r\n|\r|\n")  # as bytes.splitlines() splits
_BLANK = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.strip() removes


def _nonblank_lines(content: bytes) -> Iterator[tuple[int, int, int]]:
    """(line number, start, end) of each non-blank line, as `bytes.splitlines()` numbers them: spans, not
    copies, so a line of a gigabyte is looked at, never copied."""
    start = number = 0
    for number, line_break in enumerate(_LINE_BREAK.finditer(content), start=1):
        if not _BLANK.fullmatch(content, start, line_break.start()):
            yield number, start, line_break.start()
        start = line_break.end()
    if not _BLANK.fullmatch(content, start):
        yield number + 1, start, len(content)


def _raw_text(record: bytes) -> str:
    return record[: RAW_TEXT_LIMIT * 4].decode("utf-8", "replace")[:RAW_TEXT_LIMIT]


def parse_file(
    content: bytes, fields: tuple[ColumnSpec, ...], gzipped: bool = False, limits: Limits = DEFAULT_LIMITS
) -> Iterator[ParsedLine]:
    """One ParsedLine per record landed: every element of a file that is one JSON array, else every non-blank line.

    An array element's `line_number` is its 1-based position in the array: unique and in file order, as the
    customer current state's tie-break needs. A leading UTF-8 byte-order mark is not data: it is skipped. A
    file in another encoding is quarantined line by line, each with a reason that names the encoding. A file
    (decompressed) past `limits.file_bytes` is one quarantine row, a record past `limits.record_bytes` another.
    """
    if gzipped:
        data, reason = _decompressed(content, limits.file_bytes)
        if reason:
            yield ParsedLine(1, None, _raw_text(content if data is None else data), reason)
            return
        content = data
    elif len(content) > limits.file_bytes:
        yield ParsedLine(1, None, _raw_text(content), file_over_limit(limits.file_bytes))
        return
    content = content.removeprefix(codecs.BOM_UTF8)
    encoding = foreign_encoding(content)
    if encoding:
        reason = f"the file is {encoding}, not UTF-8: convert it to UTF-8 and land it again"
        for number, start, end in _nonblank_lines(content):
            yield ParsedLine(number, None, _raw_text(content[start : min(end, start + RAW_TEXT_LIMIT * 4)]), reason)
        return
    plan = typing_plan(fields)
    elements = _array_elements(content)
    if elements is None:  # a line past the limit is not copied: its first bytes stand for it
        limit = limits.record_bytes
        records = (
            (number, content[start : min(end, start + limit + 1)]) for number, start, end in _nonblank_lines(content)
        )
    else:
        records = enumerate(elements, start=1)
    for number, record in records:
        if len(record) > limits.record_bytes:
            yield ParsedLine(number, None, _raw_text(record), record_over_limit(limits.record_bytes))
            continue
        values, reason = parse_record(record, plan)
        if reason is None:
            yield ParsedLine(number, values, None, None)
        else:
            yield ParsedLine(number, None, _raw_text(record), reason)
