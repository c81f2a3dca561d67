"""Widgets read well where they do not render: text and HTML forms of bars and forms (no kernel, no server)."""

from __future__ import annotations

from types import SimpleNamespace


def test_progress_bar_text_forms():
    from mcpomni_jupyter.ui.bars import BarWidget
    from mcpomni_jupyter.ui.mapbar import MapProgress

    bar = BarWidget("word_count")
    bar.set(1.0, "0.2 s done")
    assert repr(bar) == "word_count ━━━━━━━━━━ 100% 0.2 s done"
    bundle = bar._repr_mimebundle_()
    assert bundle["text/plain"] == repr(bar) and "HBox" not in str(bundle) and "100% 0.2 s done" in bundle["text/html"]
    hostile = BarWidget("<img src=x onerror=alert(1)>")
    hostile.set(0.5, "\x1b[2J<b>")
    assert "<img" not in hostile._repr_mimebundle_()["text/html"] and "\x1b" not in repr(hostile)

    state = SimpleNamespace(tool="s.t", total=10, settled=4, failed=1, cancelled=0, rate=2.0, eta=3.0, elapsed=2.0)
    view = MapProgress(state, show=False)
    view.tick()
    assert repr(view.widget) == "s.t ━━━━──────  40% 4/10 · 1 failed · 2.0/s · ETA 3.0 s · 2.0 s"
    state.settled, state.eta = 10, None
    view.finish("success")
    assert repr(view.widget).endswith("100% 10/10 · 1 failed · 2.0/s · 2.0 s · done") and view.widget.bar.bar_style == "danger"


def test_call_progress_ends_on_a_full_text_bar():
    from mcpomni_jupyter.ui.progress import CallProgress

    progress = CallProgress("word_count", show=False)
    progress.started -= 2  # over a second: the bar is due
    progress.tick()
    assert repr(progress.widget).startswith("word_count 2.0 s")  # no total yet: no bar, as tqdm
    progress.finish("success")
    assert repr(progress.widget) == "word_count ━━━━━━━━━━ 100% 2.0 s · done"
    counted = CallProgress("slow_count", show=False)
    counted.on_progress(2, 5, "step 2")
    counted.tick()
    counted.finish("timeout")
    assert repr(counted.widget).startswith("slow_count ━━━━──────  40% 2/5 · step 2 · ") and repr(counted.widget).endswith("timed out")
    assert counted.bar.bar_style == "warning" and counted.bar.max == 5


def test_elicitation_form_text_form():
    from mcpomni_jupyter.ui.forms import ElicitationForm

    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    form = ElicitationForm("s", "Who are you?\x1b[2J", schema, lambda action, content: None)
    text = form._repr_mimebundle_()["text/plain"]
    assert text == "s asks: Who are you? [2J\n  a form (name, age); answer it in the notebook"
    assert "VBox" not in text


def test_task_lines_stop_listening_when_replaced_closed_or_done():
    import concurrent.futures

    from mcpomni_jupyter.core.tasks.methods import TaskJob
    from mcpomni_jupyter.core.tasks.run import TaskRun, parse_task
    from mcpomni_jupyter.redact import add_secret
    from mcpomni_jupyter.ui.tasks import MAX_LINES, TaskLine

    add_secret("sw0rdfish-secret")
    run = TaskRun("s", "tool")
    run.update(parse_task({"taskId": "t-1", "status": "working", "statusMessage": "key sw0rdfish-secret"}, "s"))
    job = TaskJob(SimpleNamespace(_task_view=None), None, run, concurrent.futures.Future())
    lines = [TaskLine(job) for _ in range(10)]  # the job displayed again and again
    assert len(run.listeners) == MAX_LINES
    assert "followed in a newer output" in lines[0].text.value and lines[0].button.layout.display == "none"
    for line in lines:  # every form of the line is redacted, the HTML as the text
        assert "sw0rdfish" not in line.text.value and "sw0rdfish" not in repr(line) and "***" in repr(line)
        assert "sw0rdfish" not in str(line._repr_mimebundle_())
    lines[-1].close()
    assert len(run.listeners) == MAX_LINES - 1
    run.finish("completed", None)  # nothing more will change: every line lets go
    assert run.listeners == [] and "completed" in lines[-2].text.value
    assert TaskLine(job) and run.listeners == []  # a finished job's line does not listen at all


def test_printable_and_duration():
    from mcpomni_jupyter.text import duration, printable

    assert printable("a\x1b[2Jb\nc\u202ed\x00") == "a [2Jb c d "
    assert printable("line 1\nline\t2", keep="\n") == "line 1\nline 2"
    assert printable("plain") == "plain"
    assert [duration(s) for s in (4.14, 125, 3725)] == ["4.1 s", "2:05 min", "1:02:05 h"]
