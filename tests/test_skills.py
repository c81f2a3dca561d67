"""Skills (``io.modelcontextprotocol/skills``, SEP-2640) against our Skills server, over stdio and streamable HTTP.

The server (tests/servers/skills_server.py) serves two good skills, one whose description is HTML and an
injection attempt, and bad ones that each fail one check; its ``reads`` tool says which skill files it was asked
for, so a test sees that listing fetches nothing and that a refused skill's other files are never read.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from conftest import HERE, free_port, usage_error, wait_port

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.errors import LookupFailed, SkillRefused

SKILLS = [sys.executable, str(HERE / "servers" / "skills_server.py")]
GOOD = {"git-workflow", "refunds", "html-description"}
REFUSALS = {
    "wrong-digest": "does not match the sha256 digest its entry declares",
    "lying-size": "skill://lying-size/SKILL.md is more than the 65 bytes its entry declares",
    "too-big": "over mcpomni_jupyter's limit of 256 KiB",
    "bad-frontmatter": "differs from its listed entry ('description')",
    "no-frontmatter": "does not begin with YAML frontmatter",
    "other-name": "does not end in /other-name/SKILL.md",
    "dynamic": "its resources are 'dynamic'",
}


@pytest.fixture(scope="module")
def http_skills():
    port = free_port()
    proc = subprocess.Popen([*SKILLS, "streamable-http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["stdio", "streamable-http"])
def skills(request, manager):
    """A manager with the Skills server as ``sk`` (and the plain test server as ``basic``), connected."""
    if request.param == "stdio":
        entry = {"command": SKILLS[0], "args": [SKILLS[1], "stdio"]}
    else:
        entry = {"url": request.getfixturevalue("http_skills")}
    manager.add_server(parse_server("sk", entry))
    manager.add_server(parse_server("basic", {"command": sys.executable, "args": [str(HERE / "servers" / "basic.py"), "stdio"]}))
    manager.connect()
    return manager


def reads(manager) -> list[str]:
    return manager.call("sk.reads").value


def test_listing_shows_name_and_description_from_the_entries_and_reads_no_file(skills):
    before = reads(skills)  # the HTTP server is shared by the module: other tests may have read files already
    listed = skills.skills()
    assert {s.server for s in listed} == {"sk"}  # the plain server offers none and is not asked
    by_name = {s.name: s for s in listed}
    assert set(by_name) == GOOD | set(REFUSALS)
    assert by_name["refunds"].uri == "skill://acme/billing/refunds/SKILL.md" and by_name["refunds"].frontmatter["license"] == "Apache-2.0"
    assert by_name["git-workflow"].description == "Follow this team's Git conventions" and by_name["git-workflow"].status == "ok"
    assert by_name["git-workflow"].digest.startswith("sha256:") and by_name["git-workflow"].files == 2
    assert by_name["too-big"].status.startswith("refused: its SKILL.md is")  # checkable from the entry alone
    assert skills.skills("sk").names == listed.names  # every page followed (the server pages by 4)
    assert reads(skills) == before  # no skill file fetched ahead of need


def test_a_skill_loads_on_demand_with_its_frontmatter_and_body(skills):
    skill = skills.skill("sk.git-workflow")
    assert skill.server == "sk" and skill.uri == "skill://git-workflow/SKILL.md"
    assert skill.frontmatter == {"name": "git-workflow", "description": "Follow this team's Git conventions"}
    assert skill.body.startswith("# Git workflow") and skill.text.startswith("---\nname: git-workflow")
    assert skill.files == ["skill://git-workflow/references/STYLE.md"]
    assert "from MCP server 'sk'" in skill.context and skill.text in skill.context
    assert reads(skills)[-1] == "skill://git-workflow/SKILL.md"
    assert skills.skill("git-workflow") is skill  # unambiguous without SERVER.; verified once, kept while its digest holds
    assert skills.skill("sk.acme/billing/refunds").frontmatter["license"] == "Apache-2.0"  # by its path
    assert skills.skill("skill://acme/billing/refunds/SKILL.md", server="sk").name == "refunds"  # by its URI
    assert skills.skill_file("sk.git-workflow", "references/STYLE.md") == "Commit messages are in the imperative.\n"
    assert any(e.kind == "skill" and "loaded skill git-workflow" in e.message for e in skills.log("sk"))


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_skill_that_fails_a_check_is_refused_in_one_line(skills, name):
    with pytest.raises(SkillRefused) as caught:
        skills.skill(f"sk.{name}")
    message = str(caught.value)
    assert REFUSALS[name] in message and "\n" not in message and message.startswith(f"skill sk.{name} refused: ")
    assert caught.value.server == "sk"
    assert any(e.kind == "skill" and e.level == "warning" and name in e.message for e in skills.log("sk"))


def test_files_are_read_only_when_listed_and_unknown_skills_say_what_to_do(skills):
    with pytest.raises(SkillRefused, match="lists no file 'scripts/run.sh'; an unlisted file is not read"):
        skills.skill_file("sk.git-workflow", "scripts/run.sh")
    with pytest.raises(LookupFailed, match=r"server 'sk' has no skill 'git-workflw' \(did you mean 'git-workflow'\?\)"):
        skills.skill("sk.git-workflw")
    with pytest.raises(LookupFailed, match="serves no skill at 'skill://nope/SKILL.md'; see %mcp skills sk"):
        skills.skill("skill://nope/SKILL.md", server="sk")
    with pytest.raises(LookupFailed, match="server 'basic' offers no skills"):
        skills.skills("basic")


def test_html_in_a_description_is_escaped(skills):
    html = skills.skills("sk")._repr_html_()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    loaded = skills.skill("sk.html-description")._repr_html_()
    assert "<img" not in loaded and "&lt;img src=x onerror=alert(1)&gt;" in loaded


def test_the_async_twins(skills):
    async def body() -> None:
        assert (await skills.askills("sk")).names[0] == "sk.git-workflow"
        assert (await skills.askill("sk.refunds")).name == "refunds"
        with pytest.raises(SkillRefused):
            await skills.askill("sk.wrong-digest")
        assert await skills.askill_file("sk.git-workflow", "references/STYLE.md") == "Commit messages are in the imperative.\n"

    asyncio.run(body())


def test_magics_list_load_refuse_and_complete(run, shell):
    assert run(f"%mcp add sk -- {SKILLS[0]} {SKILLS[1]} stdio").ok
    listed = run("%mcp skills sk")
    assert listed.ok and "git-workflow" in repr(listed.value) and "&lt;img" in listed.value._repr_html_()
    shown = run("%mcp skills sk.git-workflow --out s")
    assert shown.ok and shown.value.name == "git-workflow" and shell.user_ns["s"] is shown.value
    assert "<pre" in shown.value._repr_html_() and "# Git workflow" in repr(shown.value)
    message = usage_error(run("%mcp skills sk.bad-frontmatter"))
    assert "skill sk.bad-frontmatter refused" in message and "differs from its listed entry" in message
    complete = lambda line: shell.complete(None, line, len(line))[1]  # noqa: E731
    assert "sk.git-workflow" in complete("%mcp skills sk.g")  # from the listing already made: completing asks no server
    assert "%mcp skills [SERVER|SERVER.NAME] [--out VAR]" in run("%mcp help skills").out
