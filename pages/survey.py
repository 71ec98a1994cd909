"""Graduates reach their own survey through the personal link in their invitation."""

import streamlit as st

from outcomes.web.context import guard

guard("survey")
st.title("Graduate survey")
st.write(
    "Open the personal link from your invitation e-mail to answer your follow-up survey. "
    "The link identifies your survey; you do not need an account."
)
st.info("Online answering opens with the survey fieldwork release; your link will work then.")
