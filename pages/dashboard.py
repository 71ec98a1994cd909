"""Impact dashboard: outcomes by programme, holders versus comparable non-completers, trends."""

import streamlit as st

from outcomes.access.staff import assigned_scope
from outcomes.config import get_settings
from outcomes.errors import OutcomesError
from outcomes.impact import charts
from outcomes.impact.dashboard import HEADLINE_METRICS, WAVES, build_dashboard
from outcomes.impact.service import OUTCOMES
from outcomes.store.engine import session_scope
from outcomes.web.context import errors_shown_plainly, get_engine, guard, show_error

viewer = guard("dashboard")
st.title("Impact")
with errors_shown_plainly(), session_scope(get_engine()) as session:
    assigned_scope(session, viewer.audience, viewer.user_id)  # nothing below without one

controls = st.columns([2, 2, 2, 1])
wave = controls[0].selectbox("Wave", list(WAVES), index=1, format_func=WAVES.__getitem__)
programme = st.session_state.get("dashboard_programme")
outcome = controls[2].selectbox(
    "Outcome", list(OUTCOMES), format_func=OUTCOMES.__getitem__, key="dashboard_outcome"
)
method = controls[3].selectbox("Method", ["aipw", "ipw", "regression", "naive"])

try:
    with session_scope(get_engine()) as session:
        board = build_dashboard(
            session,
            get_settings(),
            role=viewer.audience,
            user_id=viewer.user_id,
            wave_months=wave,
            programme=programme,
            outcome=outcome,
            method=method,
        )
except OutcomesError as exc:
    show_error(exc)
    st.stop()

if board.programmes:
    controls[1].selectbox(
        "Programme",
        board.programmes,
        index=board.programmes.index(board.programme) if board.programme else 0,
        key="dashboard_programme",
    )

outcomes_tab, impact_tab, trend_tab, job_tab, nonresponse_tab, pairs_tab = st.tabs(
    [
        "Outcomes by programme",
        "Holders vs non-completers",
        "Cohort trend",
        "Time to first job",
        "Non-response",
        "Programme vs programme",
    ]
)

with outcomes_tab:
    st.caption("Credential holders only. Every figure has its n and a 95% interval.")
    if board.metrics.value is None:
        st.warning(board.metrics.refusal)
    else:
        table = board.metrics.value
        if board.disclosure_statement:
            st.info(board.disclosure_statement)
        behind = board.below_target()
        target = f"{board.response_rate_target:.0%}"
        if behind:
            st.warning(f"Response rate below the {target} target: {', '.join(behind)}.")
        else:
            st.caption(f"Every programme meets the {target} response-rate target.")
        headline = table[table["metric"].isin(HEADLINE_METRICS)]
        st.altair_chart(
            charts.rate_with_intervals(
                board.employment_rates(), category="programme", title="Full-time employment rate"
            ),
            width="stretch",
        )
        st.dataframe(headline, hide_index=True, width="stretch")
        with st.expander("Every metric, with its definition and interval method"):
            st.dataframe(table, hide_index=True, width="stretch")

with impact_tab:
    if board.comparison.value is None:
        st.warning(board.comparison.refusal)
    else:
        result = board.comparison.value
        st.subheader(board.headline() or "")
        st.altair_chart(
            charts.covariate_balance(board.balance_frame(), title="Covariate balance"),
            width="stretch",
        )
        st.caption(
            "Standardised mean differences (What Works Clearinghouse): ≤ 0.05 fine, "
            "0.05–0.25 needs adjustment, > 0.25 not comparable."
        )
        st.write(board.overlap_sentence())
        for note in result.notes:
            st.info(note)

with trend_tab:
    if board.trend.value is None:
        st.warning(board.trend.refusal)
    else:
        st.altair_chart(
            charts.trend_by_cohort(
                board.trend.value,
                title=f"{board.programme}: share of holders employed full-time, by cohort",
            ),
            width="stretch",
        )
        st.caption(
            "Employed full-time among holders whose activity is known (everyone counts in the "
            "base, including those not seeking work); Wilson 95% intervals."
        )
        st.dataframe(board.trend.value, hide_index=True)

with job_tab:
    if board.time_to_job.value is None:
        st.warning(board.time_to_job.refusal)
    else:
        curves = board.time_to_job.value
        st.altair_chart(
            charts.time_to_first_job(board.survival_frame(), title="Share in work since award"),
            width="stretch",
        )
        for line in board.median_lines():
            st.write(line)
        if curves.logrank_p_value is not None:
            st.caption(f"Log-rank test p = {curves.logrank_p_value:.3g}")
with nonresponse_tab:
    if board.nonresponse.value is None:
        st.warning(board.nonresponse.refusal)
    else:
        view = board.nonresponse.value
        st.write(view.summary)
        st.caption(
            "Share of responding holders employed full-time (everyone whose activity is known "
            "in the base), unweighted beside weighted (Wilson intervals; the weighted one on "
            "the Kish effective sample size)."
        )
        st.dataframe(view.rates, hide_index=True, width="stretch")
        with st.expander("Respondents vs non-respondents on what the records know"):
            st.dataframe(view.attrition, hide_index=True, width="stretch")
with pairs_tab:
    if board.programme_pairs.value is None:
        st.warning(board.programme_pairs.refusal)
    else:
        st.caption(
            "Share of holders employed full-time (everyone whose activity is known in the "
            "base), every programme against every other; p-values adjusted by Holm's method "
            "(family-wise error rate)."
        )
        st.dataframe(board.programme_pairs.value, hide_index=True, width="stretch")
