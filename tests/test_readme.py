"""The README's rule table is the registry's, and its set-up commands come first."""

from __future__ import annotations

from pathlib import Path

from mtls_doctor.rules import RULES

README = (Path(__file__).parents[1] / "README.md").read_text()


def rules_table() -> str:
    rows = ["| rule | severity | basis | checks that |", "|---|---|---|---|"]
    rows += [f"| `{r.id}` | {r.severity.value} | {r.basis.value} | {r.description} |"
             for r in RULES.values()]
    return "\n".join(rows)


def test_readme_rule_table_matches_the_registry() -> None:
    start = README.index("<!-- rules-table")
    table = README[README.index("\n", start) + 1:README.index("<!-- end rules-table -->")]
    assert table.strip() == rules_table(), "regenerate the table from tests/test_readme.py"


def test_readme_opens_with_make_demo_and_make_test() -> None:
    head = README[:400]
    assert "make demo" in head and "make test" in head
