"""The graduate's survey: plain server-rendered HTML routes mounted beside the staff UI.

``SurveyRoutes(settings, engine).routes()`` are Starlette routes that ``app.py`` passes to
``st.App(..., routes=...)``: one process, one port, and no Streamlit frontend for graduates
(a Streamlit page weighs 2.6 MB and needs a WebSocket). Every page is one HTML response of a
few kilobytes with its stylesheet and script inline, works with JavaScript off, and follows
POST → redirect → GET, so a refresh never re-sends a form.

====================================  ==============================================
``GET  /s/{token}``                   the personal link: exchanged for a session
                                      cookie, then redirected to ``/survey``
``GET  /survey[?step=N][&lang=xx]``   the page the graduate is at (start, a section,
                                      the review)
``POST /survey/start``                accept the privacy notice and start, or decline
``POST /survey/section/{id}``         save one section (continue or back)
``POST /survey/submit``               the final submit (idempotent)
``GET  /survey/done``                 thank you
``POST /survey/opt-out``              "don't contact me again" (button on every page)
``GET|POST /u/{token}``               one-click opt-out (RFC 8058): GET asks, POST acts,
                                      no cookie needed
====================================  ==============================================

The database work runs in Starlette's thread pool, each request one unit of work.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from outcomes.access import throttle
from outcomes.config import Settings
from outcomes.errors import OutcomesError
from outcomes.fieldwork import links, survey
from outcomes.fieldwork.links import LinkStatus
from outcomes.instruments.answers import AnswerMessage
from outcomes.instruments.expressions import parse_expression, references
from outcomes.store.engine import session_scope
from outcomes.store.migrate import check_current, open_database
from outcomes.store.tables import utcnow
from outcomes.vocab import LANGUAGES
from outcomes.web.survey import session as cookies
from outcomes.web.survey.render import (
    answer_text,
    long_date,
    prefilled,
    question_view,
    render,
    survey_csp,
)
from outcomes.web.survey.texts import text

# Paths these routes answer; the security-headers middleware gives them their own policy.
SURVEY_PATH_PREFIXES: tuple[str, ...] = ("/s/", "/u/", "/survey")
MAX_FORM_BYTES = 256 * 1024  # a section of long answers is a few kilobytes

_REFUSAL_PAGES: dict[LinkStatus, tuple[str, str, int]] = {
    LinkStatus.UNKNOWN: ("unknown_title", "unknown_body", 404),
    LinkStatus.EXPIRED: ("expired_title", "expired_body", 410),
    LinkStatus.OPTED_OUT: ("opted_out_title", "opted_out_body", 403),
    LinkStatus.NOT_OPEN_YET: ("not_open_title", "not_open_body", 403),
    LinkStatus.CLOSED: ("closed_title", "closed_body", 410),
}


def _accept_language(request: Request) -> str:
    """English or Spanish from the browser's Accept-Language (for pages with no invitation)."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


class _Page:
    """A rendered page and what the response must carry with it."""

    def __init__(self, html: str, status: int = 200) -> None:
        self.html = html
        self.status = status


class SurveyRoutes:
    """The graduate-facing routes, bound to settings and (lazily) one engine per process."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._engine_checked = engine is not None
        self._lock = threading.Lock()
        self.clock = clock

    # --- plumbing ---------------------------------------------------------------------------

    def engine(self) -> Engine:
        """The engine, made and checked to be migrated on first use."""
        with self._lock:
            if self._engine is None:
                # The same opening as the staff UI's and the CLI's (migrations checked).
                self._engine = open_database(self.settings.database_url)
            elif not self._engine_checked:
                check_current(self._engine)
            self._engine_checked = True
            return self._engine

    def routes(self) -> list[BaseRoute]:
        """The routes to mount on the app."""
        return [
            Route("/s/{token}", self.open_link, methods=["GET"]),
            Route("/survey", self.page, methods=["GET"]),
            Route("/survey/start", self.start, methods=["POST"]),
            Route("/survey/section/{section_id}", self.save, methods=["POST"]),
            Route("/survey/submit", self.submit, methods=["POST"]),
            Route("/survey/done", self.done, methods=["GET"]),
            Route("/survey/opt-out", self.opt_out, methods=["POST"]),
            Route("/u/{token}", self.unsubscribe, methods=["GET", "POST"]),
        ]

    def _https(self, request: Request) -> bool:
        if self.settings.public_base_url.startswith("https://"):
            return True
        return request.url.scheme == "https"

    def _respond(
        self,
        request: Request,
        page: _Page | None = None,
        *,
        redirect: str | None = None,
        session: cookies.SurveySession | None = None,
        end_session: bool = False,
    ) -> Response:
        response: Response
        if redirect is not None:
            response = RedirectResponse(redirect, status_code=303)
        else:
            assert page is not None
            response = HTMLResponse(page.html, status_code=page.status)
            response.headers["Content-Security-Policy"] = survey_csp()
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        if session is not None:
            response.set_cookie(
                cookies.COOKIE_NAME,
                cookies.encode(self.settings, session),
                max_age=self.settings.survey_session_minutes * 60,
                path="/",
                httponly=True,
                samesite="lax",
                secure=self._https(request),
            )
        elif end_session:
            response.delete_cookie(cookies.COOKIE_NAME, path="/")
        return response

    def _client(self, request: Request) -> str | None:
        peer = request.client.host if request.client else None
        header = self.settings.trusted_proxy_header
        forwarded = request.headers.getlist(header) if header else []
        return throttle.client_address(peer, forwarded)

    def _base(self, request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def _frame(
        self,
        request: Request,
        *,
        csrf: str | None = None,
        switch: str | None = None,
    ) -> dict[str, Any]:
        """What every page's frame shows."""
        return {
            "institution": self.settings.institution_name,
            "contact": self.settings.contact_email,
            "base": self._base(request),
            "csrf": csrf,
            "switch_url": switch,
        }

    def _message(
        self,
        request: Request,
        language: str,
        title_key: str,
        body_key: str,
        status: int = 200,
        *,
        csrf: str | None = None,
        link: dict[str, str] | None = None,
        extra: Sequence[str] = (),
        form: dict[str, Any] | None = None,
        **params: Any,
    ) -> _Page:
        params.setdefault("contact", self.settings.contact_email)
        title = text(title_key, language)
        html = render(
            "message.html",
            language,
            title=title,
            paragraphs=[text(body_key, language, **params), *extra],
            link=link,
            form=form,
            **self._frame(request, csrf=csrf),
        )
        return _Page(html, status)

    def _unavailable(self, request: Request, language: str) -> Response:
        page = self._message(request, language, "unavailable_title", "unavailable_body", 503)
        response = self._respond(request, page)
        response.headers["Retry-After"] = "60"
        return response

    async def _form(self, request: Request) -> dict[str, list[str]] | None:
        """The posted url-encoded fields, or None when the body is not a form or too large."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return None
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return None
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)

    def _session(self, request: Request) -> cookies.SurveySession | None:
        return cookies.decode(self.settings, request.cookies.get(cookies.COOKIE_NAME), self.clock())

    def _no_session(self, request: Request, language: str | None = None) -> Response:
        lang = language or _accept_language(request)
        page = self._message(request, lang, "session_title", "session_body", 403)
        return self._respond(request, page, end_session=True)

    # --- the personal link ------------------------------------------------------------------

    async def open_link(self, request: Request) -> Response:
        """Exchange a personal token for a session cookie and leave the token's URL."""
        token = request.path_params["token"]
        client = self._client(request)
        at = self.clock()

        def work() -> tuple[str, links.LinkCheck | None]:
            with session_scope(self.engine()) as db:
                key = throttle.link_key(self.settings, client)
                if throttle.link_refused(db, key, at):
                    return "slow", None
                check = links.open_link(db, self.settings, token, at)
                if check.status is LinkStatus.UNKNOWN:
                    throttle.record_link_failure(db, key, at)
                return "checked", check

        try:
            outcome, check = await run_in_threadpool(work)
        except OutcomesError:
            return self._unavailable(request, _accept_language(request))
        if outcome == "slow" or check is None:
            lang = _accept_language(request)
            page = self._message(request, lang, "slow_title", "slow_body", 429)
            response = self._respond(request, page)
            response.headers["Retry-After"] = "60"
            return response
        if check.status is LinkStatus.OPEN:
            assert check.invitation_id is not None and check.token_hash is not None
            new = cookies.started(
                self.settings, check.invitation_id, check.token_hash, check.language, at
            )
            return self._respond(request, redirect=f"{self._base(request)}/survey", session=new)
        language = check.language if check.invitation_id else _accept_language(request)
        return self._respond(request, self._refusal(request, check.status, language))

    def _refusal(self, request: Request, status: LinkStatus, language: str) -> _Page:
        title, body, code = _REFUSAL_PAGES[status]
        return self._message(request, language, title, body, code)

    # --- the survey page --------------------------------------------------------------------

    def _load(self, current: cookies.SurveySession) -> tuple[str, survey.Survey | None]:
        """(state, survey) for a session: ``gone`` when the link was reissued or removed."""
        with session_scope(self.engine()) as db:
            try:
                invitation = survey.get_invitation(db, current.invitation_id, lock=False)
            except OutcomesError:
                return "gone", None
            if not current.matches(invitation.token_hash):
                return "gone", None
            status = links.check_invitation(db, invitation, self.clock())
            return status.value, survey.load_survey(db, current.invitation_id)

    async def page(self, request: Request) -> Response:
        """Whatever the graduate should see now: start, a section, or the review."""
        current = self._session(request)
        if current is None:
            return self._no_session(request)
        wanted = request.query_params.get("lang")
        if wanted in LANGUAGES and wanted != current.language:
            current = cookies.renewed(self.settings, current, self.clock(), language=wanted)
        else:
            current = cookies.renewed(self.settings, current, self.clock())
        try:
            state, found = await run_in_threadpool(self._load, current)
        except OutcomesError:
            return self._unavailable(request, current.language)
        if state == "gone" or found is None:
            return self._no_session(request, current.language)
        lang = current.language
        csrf = cookies.form_token(self.settings, current)
        status = LinkStatus(state)
        if status is not LinkStatus.OPEN:
            if status is LinkStatus.CLOSED and found.submitted:
                page = self._review(request, found, lang, csrf=None, open_=False)
                return self._respond(request, page, session=current)
            return self._respond(request, self._refusal(request, status, lang), end_session=True)
        if not found.consented:
            return self._respond(request, self._start(request, found, lang, csrf), session=current)
        steps = found.steps()
        step = _int(request.query_params.get("step"))
        pending = found.next_step()
        reachable = len(steps) - 1 if found.submitted or pending is None else pending
        if step is not None and 0 <= step <= reachable:
            page = self._section(request, found, step, lang, csrf)
        elif pending is not None and not found.submitted:
            page = self._section(request, found, pending, lang, csrf)
        else:
            page = self._review(request, found, lang, csrf=csrf, open_=True)
        return self._respond(request, page, session=current)

    def _switch(self, request: Request, lang: str, **query: Any) -> str:
        other = "en" if lang == "es" else "es"
        params = {k: v for k, v in query.items() if v is not None}
        params["lang"] = other
        return f"{self._base(request)}/survey?{urlencode(params)}"

    def _start(self, request: Request, found: survey.Survey, lang: str, csrf: str) -> _Page:
        instrument = found.instrument
        awarded = [c for c in found.credentials if c.status == "active"]
        lines = [
            text("credential_awarded", lang, date=long_date(c.issued_on, lang)) for c in awarded
        ] or [text("no_credential", lang)]
        html = render(
            "start.html",
            lang,
            title=instrument.title.get(lang),
            about=text("about", lang, programme=found.programme(lang)),
            credential_lines=lines,
            intro=instrument.intro.get(lang),
            notice=instrument.privacy_notice.text.get(lang),
            notice_url=instrument.privacy_notice.url,
            **self._frame(request, csrf=csrf, switch=self._switch(request, lang)),
        )
        return _Page(html)

    def _currencies(self) -> list[str]:
        return [self.settings.base_currency, *sorted(self.settings.exchange_rates)]

    def _section(
        self,
        request: Request,
        found: survey.Survey,
        step: int,
        lang: str,
        csrf: str,
        *,
        posted: Mapping[str, Sequence[str]] | None = None,
        errors: Sequence[AnswerMessage] = (),
        warnings: Sequence[AnswerMessage] = (),
        status: int = 200,
    ) -> _Page:
        steps = found.steps()
        section = steps[step]
        shown = found.rendered(section)
        own = frozenset(q.id for q in section.questions)
        by_question = {m.question_id: m for m in (*warnings, *errors)}
        views = [
            question_view(
                q,
                lang,
                prefilled(q, found.answers.get(q.id), posted),
                by_question.get(q.id),
                same_page=own,
                currencies=self._currencies(),
            )
            for q in shown
        ]
        needed: set[str] = set()
        for q in shown:
            if q.show_if:
                needed.update(r for r in references(parse_expression(q.show_if)) if r not in own)
        cleaned = found.cleaned
        earlier = {k: v for k, v in cleaned.items() if k in needed}
        # "</" cannot end the script element early: JSON escapes it as "<\/".
        earlier_json = json.dumps(earlier, ensure_ascii=False).replace("</", "<\\/")
        html = render(
            "section.html",
            lang,
            title=f"{section.title.get(lang)} — {found.instrument.title.get(lang)}",
            section_title=section.title.get(lang),
            section_intro=section.intro.get(lang) if section.intro else None,
            section_id=section.id,
            step=step,
            total=found.total_steps(),
            questions=views,
            errors=[{"target": m.question_id, "text": _labelled(found, m, lang)} for m in errors],
            warnings=[
                {"target": m.question_id, "text": _labelled(found, m, lang)} for m in warnings
            ],
            earlier_json=earlier_json,
            **self._frame(request, csrf=csrf, switch=self._switch(request, lang, step=step)),
        )
        return _Page(html, status)

    def _review(
        self, request: Request, found: survey.Survey, lang: str, *, csrf: str | None, open_: bool
    ) -> _Page:
        cleaned = found.cleaned
        sections = []
        for section in found.steps():
            shown = found.rendered(section)
            rows = [
                {
                    "question": q.text.get(lang),
                    "answer": answer_text(q, cleaned.get(q.id), lang),
                }
                for q in shown
                if q.id in cleaned or not q.show_if
            ]
            sections.append({"title": section.title.get(lang), "rows": rows})
        closes = long_date(found.closes_on, lang)
        intro = (
            text("review_intro_sent", lang, closes=closes)
            if found.submitted
            else text("review_intro", lang)
        )
        notice = text("already_in", lang) if request.query_params.get("already") else None
        html = render(
            "review.html",
            lang,
            title=text("review_title", lang),
            intro=intro,
            notice=notice,
            sections=sections,
            open=open_,
            can_submit=open_ and not found.submitted,
            **self._frame(request, csrf=csrf, switch=self._switch(request, lang)),
        )
        return _Page(html)

    # --- writes -----------------------------------------------------------------------------

    async def _checked(
        self, request: Request
    ) -> tuple[cookies.SurveySession | None, dict[str, list[str]] | None, Response | None]:
        """The session and form of a POST, or the response that refuses it."""
        current = self._session(request)
        if current is None:
            return None, None, self._no_session(request)
        form = await self._form(request)
        token = (form or {}).get("csrf", [None])[0]
        if form is None or not cookies.form_token_ok(self.settings, current, token):
            lang = current.language
            page = self._message(
                request,
                lang,
                "stale_title",
                "stale_body",
                403,
                link={
                    "href": f"{self._base(request)}/survey",
                    "text": text("back_to_survey", lang),
                },
            )
            return current, None, self._respond(request, page, session=current)
        return current, form, None

    def _write(self, current: cookies.SurveySession, work: Callable[[Any], Any]) -> Any:
        """Run ``work(db)`` in one unit of work for a session whose link is still live."""
        with session_scope(self.engine()) as db:
            invitation = survey.get_invitation(db, current.invitation_id, lock=False)
            if not current.matches(invitation.token_hash):
                return _GONE
            return work(db)

    async def _run(
        self, request: Request, current: cookies.SurveySession, work: Callable[[Any], Any]
    ) -> tuple[Any, Response | None]:
        try:
            result = await run_in_threadpool(self._write, current, work)
        except survey.SurveyRefused as refused:
            page = self._refusal(request, refused.status, current.language)
            return None, self._respond(request, page, end_session=True)
        except survey.NotStarted:
            return None, self._respond(
                request, redirect=f"{self._base(request)}/survey", session=current
            )
        except OutcomesError:
            return None, self._unavailable(request, current.language)
        if result is _GONE:
            return None, self._no_session(request, current.language)
        return result, None

    async def start(self, request: Request) -> Response:
        """Accept the privacy notice and start, or decline."""
        current, form, refused = await self._checked(request)
        if refused is not None or current is None or form is None:
            assert refused is not None
            return refused
        action = (form.get("action") or [""])[0]
        at = self.clock()
        if action == "decline":
            _, failed = await self._run(
                request, current, lambda db: survey.decline(db, current.invitation_id, at)
            )
            if failed is not None:
                return failed
            found = await run_in_threadpool(self._load, current)
            closes = long_date(found[1].closes_on, current.language) if found[1] else ""
            csrf = cookies.form_token(self.settings, current)
            page = self._message(
                request,
                current.language,
                "declined_title",
                "declined_body",
                csrf=csrf,
                closes=closes,
            )
            return self._respond(request, page, session=current)
        _, failed = await self._run(
            request,
            current,
            lambda db: survey.consent(db, current.invitation_id, at, language=current.language),
        )
        if failed is not None:
            return failed
        return self._respond(request, redirect=f"{self._base(request)}/survey", session=current)

    async def save(self, request: Request) -> Response:
        """Save one section; on to the next, or back, or the same page with messages."""
        current, form, refused = await self._checked(request)
        if refused is not None or current is None or form is None:
            assert refused is not None
            return refused
        section_id = request.path_params["section_id"]
        going_back = (form.get("nav") or [""])[0] == "back"
        at = self.clock()

        def work(db: Any) -> survey.SaveResult:
            return survey.save_section(
                db,
                self.settings,
                current.invitation_id,
                section_id,
                form,
                at,
                language=current.language,
            )

        result, failed = await self._run(request, current, work)
        if failed is not None:
            return failed
        after = result.survey
        base = self._base(request)
        steps = after.steps()
        index = next((i for i, s in enumerate(steps) if s.id == section_id), 0)
        if going_back:
            return self._respond(
                request, redirect=f"{base}/survey?step={max(index - 1, 0)}", session=current
            )
        if not result.accepted:
            csrf = cookies.form_token(self.settings, current)
            page = self._section(
                request,
                after,
                index,
                current.language,
                csrf,
                posted=form,
                errors=result.errors,
                warnings=result.warnings,
                status=422 if result.errors else 200,
            )
            return self._respond(request, page, session=current)
        following = index + 1
        pending = after.next_step()
        if following < len(steps) and (
            after.submitted or (pending is not None and following <= pending)
        ):
            return self._respond(
                request, redirect=f"{base}/survey?step={following}", session=current
            )
        return self._respond(request, redirect=f"{base}/survey", session=current)

    async def submit(self, request: Request) -> Response:
        """The final submit; a repeat is told the answers were already in."""
        current, _form, refused = await self._checked(request)
        if refused is not None or current is None:
            assert refused is not None
            return refused
        at = self.clock()
        result, failed = await self._run(
            request,
            current,
            lambda db: survey.submit(db, self.settings, current.invitation_id, at),
        )
        if failed is not None:
            return failed
        base = self._base(request)
        if result.status == "incomplete":
            step = result.first_incomplete or 0
            return self._respond(request, redirect=f"{base}/survey?step={step}", session=current)
        suffix = "?already=1" if result.status == "already" else ""
        return self._respond(request, redirect=f"{base}/survey/done{suffix}", session=current)

    async def done(self, request: Request) -> Response:
        """Thank you, with the way back to review or change the answers."""
        current = self._session(request)
        if current is None:
            return self._no_session(request)
        try:
            state, found = await run_in_threadpool(self._load, current)
        except OutcomesError:
            return self._unavailable(request, current.language)
        if found is None or state == "gone":
            return self._no_session(request, current.language)
        lang = current.language
        extra = [text("already_in", lang)] if request.query_params.get("already") else []
        page = self._message(
            request,
            lang,
            "done_title",
            "done_body",
            csrf=cookies.form_token(self.settings, current),
            link={"href": f"{self._base(request)}/survey", "text": text("review_link", lang)},
            extra=extra,
            closes=long_date(found.closes_on, lang),
        )
        return self._respond(request, page, session=current)

    # --- opting out -------------------------------------------------------------------------

    async def opt_out(self, request: Request) -> Response:
        """The "don't contact me again" button of every page."""
        current, _form, refused = await self._checked(request)
        if refused is not None or current is None:
            assert refused is not None
            return refused
        at = self.clock()
        _, failed = await self._run(
            request,
            current,
            lambda db: survey.opt_out(db, current.invitation_id, at, via="button"),
        )
        if failed is not None:
            return failed
        page = self._message(request, current.language, "opt_out_done_title", "opt_out_done_body")
        return self._respond(request, page, end_session=True)

    async def unsubscribe(self, request: Request) -> Response:
        """One-click opt-out: GET shows a confirmation, POST (RFC 8058) acts; no cookie needed."""
        token = request.path_params["token"]
        client = self._client(request)
        at = self.clock()
        acting = request.method == "POST"

        def work() -> tuple[str, str]:
            with session_scope(self.engine()) as db:
                key = throttle.link_key(self.settings, client)
                if throttle.link_refused(db, key, at):
                    return "slow", "en"
                invitation = links.find_by_token(db, self.settings, token)
                if invitation is None or invitation.id is None:
                    throttle.record_link_failure(db, key, at)
                    return "unknown", "en"
                if acting:
                    survey.opt_out(db, invitation.id, at, via="one-click")
                return "done" if acting else "ask", invitation.language

        try:
            state, language = await run_in_threadpool(work)
        except OutcomesError:
            return self._unavailable(request, _accept_language(request))
        if state == "slow":
            lang = _accept_language(request)
            return self._respond(
                request, self._message(request, lang, "slow_title", "slow_body", 429)
            )
        if state == "unknown":
            lang = _accept_language(request)
            return self._respond(request, self._refusal(request, LinkStatus.UNKNOWN, lang))
        if state == "ask":
            form = {
                "action": f"{self._base(request)}/u/{token}",
                "fields": [("List-Unsubscribe", "One-Click")],
                "button": text("opt_out_button", language),
            }
            page = self._message(
                request, language, "opt_out_confirm_title", "opt_out_confirm_body", form=form
            )
            return self._respond(request, page)
        page = self._message(request, language, "opt_out_done_title", "opt_out_done_body")
        return self._respond(request, page)


_GONE = object()


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 3:
        return None
    return int(value)


def _labelled(found: survey.Survey, message: AnswerMessage, lang: str) -> str:
    """An error-summary line: the question, then what is wrong with the answer."""
    question = found.instrument.question(message.question_id)
    if question is None:
        return message.text
    return f"{question.text.get(lang)} — {message.text}"
