"""Fieldwork monitor: a wave's counts, response and knowledge rates against targets, by day."""

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from outcomes.access.permissions import can
from outcomes.access.staff import assigned_scope
from outcomes.config import get_settings
from outcomes.errors import OutcomesError
from outcomes.fieldwork import charts
from outcomes.fieldwork.monitor import Rate, monitor_waves, viewer_wave_figures
from outcomes.fieldwork.reissue import REISSUE, find_invitations, reissue_from_monitor
from outcomes.store.engine import session_scope
from outcomes.store.tables import utcnow
from outcomes.web.context import errors_shown_plainly, get_engine, guard, show_error

viewer = guard("monitor")
settings = get_settings()
st.title("Fieldwork monitor")
with errors_shown_plainly(), session_scope(get_engine()) as session:
    scope = assigned_scope(session, viewer.audience, viewer.user_id)
    waves = {wave.wave_id: wave for wave in monitor_waves(session, scope=scope)}
if not waves:
    st.info("No survey wave to monitor yet.")
    st.stop()

wave_id = st.selectbox(
    "Wave", list(waves), format_func=lambda key: waves[key].label, key="monitor_wave"
)
with errors_shown_plainly(), session_scope(get_engine()) as session:
    figures = viewer_wave_figures(
        session, settings, wave_id=wave_id, role=viewer.audience, user_id=viewer.user_id
    )
if figures.scoped:
    st.caption("Your programmes only.")
if figures.disclosure:
    st.info(figures.disclosure)


def rate_tile(column: DeltaGenerator, label: str, rate: Rate) -> None:
    """A rate with its interval, its base and its target."""
    if rate.estimate is None or rate.ci_low is None or rate.ci_high is None:
        column.metric(label, "—", help="No base yet, or withheld under disclosure control.")
        return
    met = "met" if rate.met else "not met"
    column.metric(
        label,
        f"{rate.estimate:.1%}",
        delta=f"target {rate.target:.0%}: {met}",
        delta_color="normal" if rate.met else "inverse",
        help=(
            f"{rate.numerator} of {rate.denominator}; 95% {rate.method} interval "
            f"{rate.ci_low:.1%} to {rate.ci_high:.1%}."
        ),
    )


tiles = st.columns(2)
rate_tile(tiles[0], "Response rate", figures.wave.response_rate)
rate_tile(tiles[1], "Knowledge rate", figures.wave.knowledge_rate)
st.caption(
    "Response rate = complete ÷ invited (skipped graduates excluded). Knowledge rate = "
    "graduates with a known outcome from any source (survey, employer, staff-verified, "
    "public profile, phone) ÷ everyone in the wave, skipped included. Targets: "
    f"response {figures.targets.response_rate:.0%} ({figures.targets.response_rate_from}), "
    f"knowledge {figures.targets.knowledge_rate:.0%} ({figures.targets.knowledge_rate_from})."
)

st.subheader("By programme")
percent = st.column_config.NumberColumn(format="percent")
table = figures.table()
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        column: percent
        for column in table.columns
        if column.endswith(("_rate", "_ci_low", "_ci_high", "_target"))
    },
)

st.subheader("By day")
days = figures.by_day_frame()
if days.empty:
    st.caption("Nothing sent or completed yet.")
else:
    st.altair_chart(
        charts.sends_and_completions(days, title="Messages sent and responses completed"),
        width="stretch",
    )

if can(viewer.audience, REISSUE):
    st.subheader("Reissue a personal link")
    st.caption(
        "For a graduate who lost their link. The new link is shown once, here; the old one "
        "stops working at once, and the reissue is recorded in the audit trail."
    )
    key = st.text_input("Learner ref or e-mail address", key="monitor_find")
    if key.strip():
        try:
            with session_scope(get_engine()) as session:
                matches = find_invitations(
                    session, wave_id=wave_id, key=key, scope=scope, at=utcnow()
                )
        except OutcomesError as exc:
            show_error(exc)
            st.stop()
        if not matches:
            st.warning("No graduate of this wave in your programmes has that ref or e-mail.")
            st.stop()
        labels = {match.invitation_id: match.label for match in matches}
        invitation_id = st.selectbox(
            "Invitation", list(labels), format_func=labels.__getitem__, key="monitor_invitation"
        )
        if st.button("Reissue link", type="primary"):
            try:
                with session_scope(get_engine()) as session:
                    reissued = reissue_from_monitor(
                        session,
                        settings,
                        invitation_id=invitation_id,
                        role=viewer.audience,
                        scope=scope,
                        actor=viewer.actor,
                        at=utcnow(),
                    )
            except OutcomesError as exc:
                show_error(exc)
            else:
                st.warning(
                    "The old link no longer works. Copy this one now: it is not shown again."
                )
                st.code(reissued.url, language=None)
                st.caption(f"Valid until {reissued.expires_at:%Y-%m-%d %H:%M} UTC.")
