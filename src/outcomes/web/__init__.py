"""The web server around the Streamlit app: security headers, host checking, hidden routes.

``app.py`` serves the staff UI as ``st.App(..., middleware=web.middleware(settings))``; the
same middleware wraps every HTTP response of that App, Streamlit's own and mounted routes'.
"""

from outcomes.web.headers import SecurityHeaders, content_security_policy, security_headers
from outcomes.web.server import allowed_hosts, middleware

__all__ = [
    "SecurityHeaders",
    "allowed_hosts",
    "content_security_policy",
    "middleware",
    "security_headers",
]
