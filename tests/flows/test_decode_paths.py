"""The compiled (one struct per template) and the field-by-field data set decoders agree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.readers.netflow import (
    WANTED_IES,
    FieldSpec,
    Template,
    _decode_fixed,
    _fixed_plan,
    decode_data_set_fieldwise,
)

IES = sorted(WANTED_IES) + [0, 3, 82, 200, 400]
field_st = st.builds(FieldSpec, st.sampled_from(IES), st.sampled_from([0, 1, 2, 3, 4, 5, 6, 8, 16]),
                     st.sampled_from([0, 0, 0, 9]))


@settings(max_examples=300, deadline=None)
@given(st.lists(field_st, min_size=1, max_size=12), st.binary(max_size=400))
def test_compiled_equals_fieldwise(fields, body):
    tpl = Template(256, tuple(fields))
    if tpl.min_length == 0:
        return
    fast = _decode_fixed(_fixed_plan(tpl.fields), body)
    slow = decode_data_set_fieldwise(tpl, body)
    assert fast.records == slow.records
    assert fast.enterprise_values == slow.enterprise_values
