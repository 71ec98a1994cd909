"""The graduate's survey: server-rendered HTML routes (no Streamlit frontend)."""
