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
