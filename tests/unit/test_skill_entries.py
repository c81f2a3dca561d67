"""A skill's entry and SKILL.md checked without a server: what is untrusted until it matches (core/skills/entries.py)."""

from __future__ import annotations

import hashlib

import pytest

from mcpomni_jupyter.core.skills.entries import MAX_SKILL_BYTES, parse_entry, split_skill, verify
from mcpomni_jupyter.errors import SkillRefused

URI = "skill://team/pdf-tools/SKILL.md"


def entry_for(text: str, frontmatter: dict | None = None, **changes):
    raw = {
        "uri": URI,
        "frontmatter": frontmatter or {"name": "pdf-tools", "description": "Work with PDFs"},
        "resources": [{"uri": URI, "digest": "sha256:" + hashlib.sha256(text.encode()).hexdigest(), "size": len(text.encode())}],
        **changes,
    }
    return parse_entry("s", raw)


def test_a_good_entry_and_its_file():
    text = "---\nname: pdf-tools\ndescription: Work with PDFs\n---\n\n# Body\n"
    entry = entry_for(text)
    assert entry.problem is None and entry.name == "pdf-tools" and entry.path == "team/pdf-tools"
    verify(entry, entry.main, text.encode())
    assert split_skill(entry, text) == ({"name": "pdf-tools", "description": "Work with PDFs"}, "# Body\n")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"resources": "dynamic"}, "'dynamic'"),
        ({"resources": None}, "no resources list"),
        ({"resources": [{"uri": URI, "digest": "md5:00", "size": 1}]}, "no valid digest"),
        ({"resources": [{"uri": URI, "digest": "sha256:" + "a" * 64, "size": True}]}, "no valid size"),
        ({"resources": [{"uri": URI, "digest": "sha256:" + "a" * 64, "size": MAX_SKILL_BYTES + 1}]}, "over mcpomni_jupyter's limit"),
        ({"resources": []}, "do not list its own SKILL.md"),
        ({"frontmatter": {"name": "PDF Tools", "description": "x"}}, "naming rules"),
        ({"frontmatter": {"name": "pdf-tools"}}, "no description"),
        ({"uri": "skill://team/other/SKILL.md"}, "does not end in /pdf-tools/SKILL.md"),
    ],
)
def test_an_entry_says_what_is_wrong_with_it(changes, problem):
    entry = parse_entry("s", {**entry_for("x").raw, **changes})
    assert entry is not None and problem in (entry.problem or "")


def test_entries_without_a_uri_are_dropped():
    assert parse_entry("s", "nope") is None and parse_entry("s", {"uri": 3}) is None


def test_yaml_aliases_are_refused_and_dates_stay_strings():
    laughs = "---\nname: pdf-tools\ndescription: Work with PDFs\na: &a [x, x]\nb: [*a, *a]\n---\n"
    with pytest.raises(SkillRefused, match="uses aliases"):
        split_skill(entry_for(laughs), laughs)
    dated = "---\nname: pdf-tools\ndescription: Work with PDFs\nupdated: 2026-01-02\n---\nBody"
    fields, _ = split_skill(entry_for(dated, {"name": "pdf-tools", "description": "Work with PDFs", "updated": "2026-01-02"}), dated)
    assert fields["updated"] == "2026-01-02"


def test_a_frontmatter_that_differs_or_does_not_parse_is_refused():
    text = "---\nname: pdf-tools\ndescription: Work with PDFs\nlicense: MIT\n---\n"
    with pytest.raises(SkillRefused, match=r"differs from its listed entry \('license'\)"):
        split_skill(entry_for(text), text)
    with pytest.raises(SkillRefused, match="does not parse at line"):
        split_skill(entry_for("x"), "---\nname: [unclosed\n---\n")
    with pytest.raises(SkillRefused, match="no closing --- line"):
        split_skill(entry_for("x"), "---\nname: pdf-tools\n")
