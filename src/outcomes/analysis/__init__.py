"""Pure analysis: DataFrames and column names in, immutable typed results out.

Nothing in this package imports streamlit, SQLAlchemy/SQLModel or ``outcomes.store.engine``; callers
hand in pseudonymous frames and get frozen dataclasses back. Import the submodules directly
(``from outcomes.analysis.metrics import metrics_panel``) so that importing the package stays
cheap.
"""
