"""JSON Patch (RFC 6902) and JSON Pointer (RFC 6901), including the RFC's own examples."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backend.config.jsonpatch import PatchError, apply_patch, json_equal, parse_pointer

# RFC 6902 Appendix A: (document, patch, expected result).
RFC_EXAMPLES: list[tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any]]] = [
    (
        "A.1 add an object member",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"},
    ),
    (
        "A.2 add an array element",
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    (
        "A.3 remove an object member",
        {"baz": "qux", "foo": "bar"},
        [{"op": "remove", "path": "/baz"}],
        {"foo": "bar"},
    ),
    (
        "A.4 remove an array element",
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    (
        "A.5 replace a value",
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        "A.6 move a value",
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        "A.7 move an array element",
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        "A.8 test a value (success)",
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        "A.10 add a nested member object",
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        "A.11 ignore unrecognised members of an operation",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    (
        "A.14 ~ escape ordering",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": 10}],
        {"/": 9, "~1": 10},
    ),
    (
        "A.16 add an array value",
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
]

# RFC 6902 Appendix A: patches that must fail, and a word the error has to contain.
RFC_ERRORS: list[tuple[str, dict[str, Any], list[dict[str, Any]], str]] = [
    (
        "A.9 test a value (error)",
        {"baz": "qux"},
        [{"op": "test", "path": "/baz", "value": "bar"}],
        "test failed",
    ),
    (
        "A.12 add to a nonexistent target",
        {"foo": "bar"},
        [{"op": "add", "path": "/baz/bat", "value": "qux"}],
        "'/baz' does not exist",
    ),
    (
        "A.15 comparing strings and numbers",
        {"/": 9, "~1": 10},
        [{"op": "test", "path": "/~01", "value": "10"}],
        "test failed",
    ),
]


@pytest.mark.parametrize(
    ("doc", "ops", "expected"),
    [case[1:] for case in RFC_EXAMPLES],
    ids=[case[0] for case in RFC_EXAMPLES],
)
def test_rfc_6902_examples(
    doc: dict[str, Any], ops: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    assert apply_patch(doc, ops) == expected


@pytest.mark.parametrize(
    ("doc", "ops", "message"),
    [case[1:] for case in RFC_ERRORS],
    ids=[case[0] for case in RFC_ERRORS],
)
def test_rfc_6902_error_examples(
    doc: dict[str, Any], ops: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(PatchError, match=message):
        apply_patch(doc, ops)


def test_input_document_and_op_values_are_never_shared_or_mutated() -> None:
    doc: dict[str, Any] = {"tools": {"disabled": ["a"]}}
    value = ["x"]
    before = copy.deepcopy(doc)
    out = apply_patch(doc, [{"op": "add", "path": "/tools/extra", "value": value}])
    assert doc == before
    out["tools"]["disabled"].append("b")
    out["tools"]["extra"].append("y")
    assert doc == before
    assert value == ["x"]


def test_pointer_escapes_follow_rfc_6901() -> None:
    assert parse_pointer("") == []
    assert parse_pointer("/a~1b/m~0n/~01") == ["a/b", "m~n", "~1"]
    assert apply_patch({"a/b": 1}, [{"op": "replace", "path": "/a~1b", "value": 2}]) == {"a/b": 2}


@pytest.mark.parametrize("pointer", ["a/b", "/a~2", "/~"])
def test_malformed_pointers_are_refused(pointer: str) -> None:
    with pytest.raises(PatchError):
        parse_pointer(pointer)


def test_dash_appends_for_add_but_names_nothing_otherwise() -> None:
    doc: dict[str, Any] = {"l": [1]}
    assert apply_patch(doc, [{"op": "add", "path": "/l/-", "value": 2}]) == {"l": [1, 2]}
    with pytest.raises(PatchError, match="'-'"):
        apply_patch(doc, [{"op": "remove", "path": "/l/-"}])


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ([{"op": "remove", "path": "/l/3"}], "index 3 is out of range for a list of 2"),
        ([{"op": "add", "path": "/l/3", "value": 0}], "index 3 is out of range"),
        ([{"op": "remove", "path": "/l/01"}], "'01' is not a list index"),
        ([{"op": "replace", "path": "/l/x", "value": 0}], "'x' is not a list index"),
        ([{"op": "replace", "path": "/missing", "value": 0}], "'/missing' does not exist"),
        ([{"op": "remove", "path": "/missing"}], "'/missing' does not exist"),
        ([{"op": "remove", "path": ""}], "cannot remove the whole document"),
        ([{"op": "add", "path": "/n/x", "value": 0}], "neither an object nor a list"),
        ([{"op": "frobnicate", "path": "/n"}], "unknown op 'frobnicate'"),
        ([{"op": "add", "path": "/n"}], "'add' needs a 'value' member"),
        ([{"op": "move", "path": "/n"}], "'move' needs a 'from' member"),
        ([{"op": "replace", "path": 3, "value": 0}], "'path' must be a string"),
        ([{"op": "move", "from": "/o", "path": "/o/p"}], "into its own child"),
        (["not an op"], "must be an object"),
    ],
)
def test_bad_operations_raise_a_precise_error(ops: list[Any], message: str) -> None:
    doc: dict[str, Any] = {"l": [1, 2], "n": 5, "o": {}}
    with pytest.raises(PatchError, match=message):
        apply_patch(doc, ops)


def test_error_names_the_failing_operation_and_nothing_is_half_applied() -> None:
    doc: dict[str, Any] = {"a": 1}
    ops: list[dict[str, Any]] = [
        {"op": "replace", "path": "/a", "value": 2},
        {"op": "remove", "path": "/b"},
    ]
    with pytest.raises(PatchError, match=r"^operation 1 \(remove /b\)"):
        apply_patch(doc, ops)
    assert doc == {"a": 1}


def test_a_patch_must_be_a_list() -> None:
    with pytest.raises(PatchError, match="list of operations"):
        apply_patch({}, {"op": "add"})  # type: ignore[arg-type]


def test_copy_and_move() -> None:
    doc: dict[str, Any] = {"a": {"b": [1]}, "c": {}}
    copied = apply_patch(doc, [{"op": "copy", "from": "/a/b", "path": "/c/d"}])
    assert copied == {"a": {"b": [1]}, "c": {"d": [1]}}
    copied["c"]["d"].append(2)
    assert copied["a"]["b"] == [1]
    moved = apply_patch(doc, [{"op": "move", "from": "/a/b", "path": "/c/d"}])
    assert moved == {"a": {}, "c": {"d": [1]}}
    assert apply_patch(doc, [{"op": "move", "from": "/a", "path": "/a"}]) == doc


def test_replace_whole_document_and_list_element() -> None:
    assert apply_patch({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]) == {"b": 2}
    assert apply_patch({"l": [1, 2]}, [{"op": "replace", "path": "/l/1", "value": 3}]) == {
        "l": [1, 3]
    }
    with pytest.raises(PatchError, match="no longer an object"):
        apply_patch({"a": 1}, [{"op": "replace", "path": "", "value": [1]}])


def test_test_compares_as_json() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal([1, 2], [2, 1])
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(PatchError, match="test failed"):
        apply_patch({"flag": True}, [{"op": "test", "path": "/flag", "value": 1}])
