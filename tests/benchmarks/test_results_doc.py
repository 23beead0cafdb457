"""`make bench` refreshes the results table in benchmarks/README.md, stamped with a day, never an hour."""

import re

from benchmarks.__main__ import PERFORMANCE_DOC, TABLE_END, TABLE_START, update_doc
from benchmarks.sandbox import REPO

TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\b")
MACHINE = {"cpu": "CPU", "cores": 2, "memory_gb": 4.0, "python": "3.12.0", "measured_python": "3.12",
           "libraries": {"moto": "5"}}  # fmt: skip


def test_the_table_lives_in_the_benchmarks_readme():
    assert PERFORMANCE_DOC == REPO / "benchmarks" / "README.md"
    text = PERFORMANCE_DOC.read_text(encoding="utf-8")
    assert text.count(TABLE_START) == 1
    assert text.count(TABLE_END) == 1
    assert text.index(TABLE_START) < text.index(TABLE_END)


def test_the_benchmarks_readme_carries_no_time_of_day():
    assert TIME_OF_DAY.findall(PERFORMANCE_DOC.read_text(encoding="utf-8")) == []


def test_update_replaces_only_the_table_between_the_markers(tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text(f"# before\n{TABLE_START}\nold table\n{TABLE_END}\nafter\n", encoding="utf-8")
    document = {"started_at": "2026-11-25T14:06:40+00:00", "machine": MACHINE}
    update_doc("| new | table |", document, doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith(f"# before\n{TABLE_START}\nMeasured 2026-11-25 on CPU, 2 cores")
    assert text.endswith(f"\n\n| new | table |\n{TABLE_END}\nafter\n")
    assert "old table" not in text
    assert TIME_OF_DAY.findall(text) == []
