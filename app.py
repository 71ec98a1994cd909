"""Entry point of the web app: the server (``st.App``) and the staff UI script, in one file.

``streamlit run app.py`` reads this file without running it, finds ``app = st.App(...)``
below and has uvicorn import it as the module ``app``: ``__name__`` is then ``"app"`` and
only the App is built: the graduate's survey routes (server-rendered HTML, no Streamlit
frontend) beside Streamlit's, and the middleware of ``outcomes.web`` around every HTTP
response. The App's runtime then runs this same file as the
script of every browser session, and ``AppTest.from_file("app.py")`` runs it the same way:
both execute it as the module ``"__main__"``, which draws the staff UI (``main``) and never
builds a second App. Keeping both in one file keeps ``streamlit run app.py`` the command
everywhere (``make run``, the README, ``.ci/run``).
"""

from __future__ import annotations

import streamlit as st

from outcomes.access.permissions import pages_for
from outcomes.errors import OutcomesError
from outcomes.web.context import current_viewer, get_engine
from outcomes.web.unavailable import show_unavailable


def main() -> None:
    """Settings, engine check, viewer, navigation built per role."""
    # An emoji, not a Material icon, as the favicon: the browser draws a Material favicon
    # (the page's, or the pages' own icons when none is set) from fonts.gstatic.com, which
    # the Content-Security-Policy's img-src does not allow (nor should graduates' visits
    # reach Google); an emoji favicon is an inline data: image.
    st.set_page_config(page_title="Outcomes", page_icon="📈", layout="wide")

    try:
        get_engine()
        viewer = current_viewer()
    except OutcomesError as exc:
        show_unavailable(exc)
        st.stop()

    navigation = st.navigation(
        [
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.key)
            for spec in pages_for(viewer.audience)
        ]
    )
    navigation.run()


if __name__ == "__main__":
    main()
else:
    from outcomes.web.server import server_from_environment

    # The graduate's survey (plain HTML routes, outcomes.web.survey) and the middleware.
    survey_routes, middleware = server_from_environment()
    app = st.App(__file__, routes=survey_routes, middleware=middleware)
