"""Entry point of the web app: settings, engine check, viewer, navigation built per role."""

from __future__ import annotations

import streamlit as st

from outcomes.access import pages_for
from outcomes.errors import OutcomesError
from outcomes.webapp import current_viewer, get_engine

st.set_page_config(page_title="Outcomes", page_icon=":material/insights:", layout="wide")

try:
    get_engine()
except OutcomesError as exc:
    st.error(str(exc))
    st.stop()

viewer = current_viewer()
navigation = st.navigation(
    [
        st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.key)
        for spec in pages_for(viewer.audience)
    ]
)
navigation.run()
