"""After any sequence of edits, a `Session` reports exactly what a fresh analysis of the
final text reports: codes, messages, ranges, severities, related places, tags and data.
In-process, so it runs many more edits than the same property over LSP
(`test_lsp_edits.py`). SDF_LSP_ROBUSTNESS_EDITS sets how many."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdf_lsp.analysis import Session, analyse
from sdf_lsp.model.lower import Context
from sdf_lsp.target.load import default_target

from .edits import IN_PROCESS_EDITS, apply, concrete, corpus, from_analysis, notification, read

CTX = Context(default_target())
FILES = corpus()
TEXTS: dict = {}


def test_the_corpus_is_there():
    assert len(FILES) > 150


@pytest.mark.slow
def test_session_equals_a_fresh_analysis():
    done = {"edits": 0, "sequences": 0}

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    # each step: one notification's changes, and whether the session analyses after it
    @given(st.sampled_from(FILES), st.lists(st.tuples(notification, st.booleans()), min_size=1, max_size=25))
    def sequence(path, steps):
        if path not in TEXTS:
            TEXTS[path] = read(path)
        text = TEXTS[path]
        session = Session(text, CTX)
        session.analyse()
        for changes, analyse_now in steps:
            for plan in changes:
                change = concrete(text, plan)
                text = apply(text, change)
                session.edit(*change)
                done["edits"] += 1
            if analyse_now:
                session.analyse()
        assert session.text == text
        got = from_analysis(session.analyse().diagnostics)
        want = from_analysis(analyse(text, CTX).diagnostics)
        assert got == want, (
            f"{path.name}: only after the edits: {sorted(set(got) - set(want))[:3]}; "
            f"only in a fresh analysis: {sorted(set(want) - set(got))[:3]}"
        )
        done["sequences"] += 1

    while done["edits"] < IN_PROCESS_EDITS:
        sequence()
    print(f"{done['edits']} edits in {done['sequences']} sequences")
