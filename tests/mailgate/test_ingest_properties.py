"""No byte string crashes the pipeline: every message lands somewhere or is quarantined."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from helpdesk.db import make_engine
from helpdesk.settings import Settings
from tests.mailgate.desk import build_desk

CORPUS = sorted((Path(__file__).parent.parent / "fixtures" / "mail").glob("*.eml"))
# What ingest may answer; anything else (an exception) is a crash.
OUTCOMES = {
    "created", "appended", "follow_up", "held", "pending_participant", "agent_reply",
    "held_agent_note", "auto_reply_recorded", "bounce_recorded", "ignored",
    "held_for_review", "duplicate", "quarantined",
}  # fmt: skip


@st.composite
def damaged_mail(draw: st.DrawFn) -> bytes:
    """A real mail from the corpus, cut short, with bytes flipped or spliced in."""
    data = bytearray(draw(st.sampled_from(CORPUS)).read_bytes())
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        data[position : position + 1] = draw(st.binary(min_size=0, max_size=4))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut] if draw(st.booleans()) else data)


def test_any_bytes_land_or_are_quarantined(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    settings = Settings.for_var_dir(tmp_path / "var", database_url=url, secret_key="k")
    engine = make_engine(url)
    desk = build_desk(settings, engine)

    @given(st.binary(max_size=3000) | damaged_mail())
    @hypothesis_settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    def check(data: bytes) -> None:
        for result in desk.send(data):
            assert result.action in OUTCOMES
            if result.action == "quarantined":
                assert desk.raw(result.raw_message_id).reason

    try:
        check()
    finally:
        engine.dispose()
