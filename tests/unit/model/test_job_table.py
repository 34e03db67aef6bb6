"""The table form of an outgoing queue listing names every field of ``OutgoingJobInfo``'s
JSON once: in a job's row, in its submission's fields, or as worked out by the reader."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from openfax.model.job_table import (
    COMPUTED_FIELDS,
    OUTGOING_JOB_COLUMNS,
    SUBMISSION_FIELDS,
    OutgoingJobTable,
    encode,
    outgoing_job_json,
    read_table,
    table_lines,
)
from openfax.model.records import OutgoingJobInfo


def test_the_table_names_each_field_of_the_default_form_once() -> None:
    schema = TypeAdapter(OutgoingJobInfo).json_schema(mode="serialization", by_alias=True)
    named = [*OUTGOING_JOB_COLUMNS, *SUBMISSION_FIELDS, *COMPUTED_FIELDS]
    assert sorted(named) == sorted(schema["properties"])
    assert len(set(named)) == len(named)


def test_a_page_reads_back_line_by_line() -> None:
    values: dict[str, Any] = {name: f"value {n}" for n, name in enumerate(OUTGOING_JOB_COLUMNS)}
    values |= {
        "submission_id": "00000000000000aa",
        "recipient": {"fax_number": "1002", "city": "Leeds\n"},
        "status": 1,
        "extended_status_code": 0,
    }
    row = [values[name] for name in OUTGOING_JOB_COLUMNS]
    fields = {"sender": {"name": "Ann"}, "subject": "Quarterly\nfigures"}
    table = OutgoingJobTable(
        [encode(row)], {"00000000000000aa": encode(fields)}, count=7, next_cursor=None
    )
    page = read_table(table_lines(table))
    assert (page["count"], page["next_cursor"]) == (7, None)
    (line,) = page["jobs"]
    job = outgoing_job_json(page["columns"], line, page["submissions"])
    assert job["recipient"]["city"] == "Leeds\n"
    assert job["recipient"]["name"] == "", "the fields left out are empty"
    assert job["sender"]["name"] == "Ann"
    assert job["sender"]["tsid"] == ""
    assert job["subject"] == "Quarterly\nfigures"
    assert (job["status_name"], job["extended_status_name"]) == ("PENDING", "NONE")
    empty = read_table(table_lines(OutgoingJobTable([], {}, count=0, next_cursor=None)))
    assert empty["jobs"] == []
