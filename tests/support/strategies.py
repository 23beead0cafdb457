"""Hypothesis strategies for what a client can send: JSON values at DynamoDB's edges, bodies, headers.

Numbers are drawn around DynamoDB's limits (38 significant digits, 1E-130 .. 9.99..E+125) as well as
anywhere; nesting around its 32 levels; strings from all of Unicode. Raw bodies add what JSON cannot
say cleanly: lone surrogate escapes, duplicate keys, NaN, huge exponents, deep brackets, bad UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

EDGE_NUMBERS = [
    10**38 - 1,
    10**38,
    10**38 + 1,
    10**125,
    10**126,
    -(10**126),
    99999999999999999999999999999999999999 * 10**88,  # 9.99..E+125 exactly: DynamoDB's largest
    1e125,
    9.99999999999999e125,
    1e126,
    1e-130,
    1e-131,
    5e-324,
    -0.0,
    0.1,
    1.7976931348623157e308,
]

numbers = st.one_of(
    st.sampled_from(EDGE_NUMBERS),
    st.integers(),
    st.integers(min_value=-(10**140), max_value=10**140),
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-140, 140)),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=20))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def nested(depth: int, leaf: Any = 1) -> Any:
    """``depth`` maps (or lists) inside one another around ``leaf``."""
    value = leaf
    for n in range(depth):
        value = {"a": value} if n % 2 else [value]
    return value


deep_values = st.builds(nested, st.integers(min_value=25, max_value=40), scalars)
info_values = st.one_of(
    st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    deep_values.map(lambda v: {"deep": v}),
)

ids = st.one_of(st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"), st.text(max_size=70))
user_ids = st.one_of(st.from_regex(r"\A[A-Za-z0-9_.@:-]{1,128}\Z"), st.text(max_size=20))
item_bodies = st.fixed_dictionaries(
    {"userId": user_ids, "name": st.text(max_size=300)},
    optional={"id": ids, "info": info_values, "extra": json_values},
)

# Bodies that pass the schema, so that their info reaches the codec and DynamoDB.
valid_item_bodies = st.fixed_dictionaries(
    {"userId": st.from_regex(r"\A[A-Za-z0-9_.@:-]{1,16}\Z"), "name": st.text(min_size=1, max_size=40)},
    optional={"id": st.from_regex(r"\A[A-Za-z0-9_-]{1,16}\Z")},
).flatmap(lambda body: info_values.map(lambda info: {**body, "info": info}))

RAW_BODIES = [
    '{"userId": "u1", "name": "\\ud800"}',
    '{"userId": "u1", "name": "n", "name": "twice"}',
    '{"userId": "u1", "name": "n", "info": {"x": NaN}}',
    '{"userId": "u1", "name": "n", "info": {"x": 1e400}}',
    '{"userId": "u1", "name": "n", "info": {"x": 1' + "0" * 5000 + "}}",
    '{"userId": "u1", "name": "n", "info": ' + "[" * 3000 + "]" * 3000 + "}",
    "",
    "null",
    "[]",
]
raw_bodies = st.one_of(
    st.sampled_from(RAW_BODIES),
    st.text(max_size=200),
    item_bodies.map(json.dumps),
    json_values.map(json.dumps),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "Application/JSON",
            "application/json;",
        ]
    ),
    st.text(max_size=30),
)
header_values = st.one_of(st.text(max_size=40), st.from_regex(r'\A"?[0-9]{1,20}"?\Z'), st.just("*"))
query_values = st.one_of(
    st.text(max_size=30), st.from_regex(r"\A[0-9]{1,4}\Z"), st.sampled_from(["²", "٣", "1_0", " 5"])
)
