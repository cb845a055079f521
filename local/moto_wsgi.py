"""moto's server without Flask's request handling around each call: the same answers, less CPU.

moto's server (``DomainDispatcherApplication``) picks a Flask app per AWS service, and Flask then
routes the request to a moto response callback wrapped in ``convert_to_flask_response``. Per call,
Flask pushed an app and a request context, opened a (null) session, sent its signals, ran flask_cors'
``after_request`` hook through its context-local ``request``, and tore it all down: about a fifth of
the server's CPU went to these layers, not to moto.

:class:`ThinApp` does what they did, for what local mode sends: the same dispatcher picks the same
Flask app; that app's own URL map and URL adapter pick the same rule; the rule's callback gets the
same request object (the app's request class) and its answer becomes the same ``flask.Response``,
as ``convert_to_flask_response`` builds it; the app's CORS hook (flask_cors' own function) runs on
it; the response is served by werkzeug as Flask serves it. Anything else goes to the Flask app, as
before: a request its URL map does not route (a 404, a redirect), an app with anything registered
that the thin path does not run (before-request functions, error handlers, teardown functions,
signal receivers, another after-request hook), moto's own ``/moto-api`` (its pages render Flask
templates). An exception from the callback is handled by Flask itself, in a request context
pushed for it, exactly as Flask would have (a 500, logged, with CORS headers).

With ``MEETING_VAULT_MOTO_VERIFY=1`` every answer of the thin path is checked: the Flask app
answers the same request again with the callback's recorded result (or exception) in place of the
callback, and a difference in status, headers or body turns the answer into a 500 that says so
(``tests/integration/test_moto_wsgi.py``).
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

_local = threading.local()

StartResponse = Callable[..., Any]


class _Unsupported(Exception):
    """The thin path does not handle this app or request: the Flask app answers."""


class _Routes:
    """What the thin path needs of one Flask app, checked once."""

    def __init__(self, app: Any) -> None:
        from flask_cors import extension
        from moto.core.utils import convert_to_flask_response

        if getattr(app, "service", None) == "moto_api":
            raise _Unsupported("moto's dashboard renders templates in Flask's context")
        if app.debug or app.testing or app.secret_key is not None:
            raise _Unsupported("debug, testing or sessions")
        # A Flask request reads these limits from the app's config when it has a context; without
        # one, werkzeug's defaults. They must agree.
        from werkzeug.wrappers import Request as WerkzeugRequest

        config = app.config
        if (config["MAX_CONTENT_LENGTH"], config["MAX_FORM_PARTS"]) != (
            WerkzeugRequest.max_content_length,
            WerkzeugRequest.max_form_parts,
        ):
            raise _Unsupported("request limits")
        for registry in (
            app.before_request_funcs,
            app.url_value_preprocessors,
            app.teardown_request_funcs,
            app.teardown_appcontext_funcs,
            app.error_handler_spec,
        ):
            if any(registry.values()) if isinstance(registry, dict) else registry:
                raise _Unsupported("hooks the thin path does not run")
        after = app.after_request_funcs
        hooks = after.get(None, [])
        if set(after) - {None} or len(hooks) > 1:
            raise _Unsupported("after-request hooks")
        if hooks and (hooks[0].__module__, hooks[0].__name__) != (extension.__name__, "cors_after_request"):
            raise _Unsupported("an after-request hook that is not flask_cors'")
        self.app = app
        self.after = hooks[0] if hooks else None
        # Read once: a callback does not change while the server runs (``MEETING_VAULT_MOTO_VERIFY``
        # replaces the Flask app's ones with recorders, and this table keeps moto's).
        self.callbacks: dict[str, Callable[..., Any]] = {}
        for endpoint, view in app.view_functions.items():
            if type(view) is convert_to_flask_response:
                self.callbacks[endpoint] = view.callback


class ThinApp:
    """A WSGI app answering as ``dispatcher`` (moto's ``DomainDispatcherApplication``) does."""

    def __init__(self, dispatcher: Any, *, verify: bool = False) -> None:
        from flask import Response, signals
        from moto.core import utils
        from moto.core.request import normalize_request
        from moto.moto_api import recorder
        from werkzeug.exceptions import HTTPException

        # What convert_to_flask_response uses, from where it takes them
        self._response = Response
        self._client_error = utils.ClientError
        self._normalize = normalize_request
        self._recorder = recorder
        self._http_exception = HTTPException

        self.dispatcher = dispatcher
        self.verify = verify
        self._routes: dict[int, _Routes | None] = {}
        self._lock = threading.Lock()
        self._signals = [
            getattr(signals, name)
            for name in (
                "request_started",
                "request_finished",
                "request_tearing_down",
                "got_request_exception",
                "appcontext_pushed",
                "appcontext_popped",
                "appcontext_tearing_down",
            )
        ]
        _route_cors_request()
        _memoize_backends(dispatcher)

    def routes(self, app: Any) -> _Routes | None:
        found = self._routes.get(id(app), False)
        if found is False:
            with self._lock:
                try:
                    found = _Routes(app)
                except _Unsupported:
                    found = None
                else:
                    if self.verify:
                        _record_callbacks(app)
                self._routes[id(app)] = found
        return found  # type: ignore[return-value]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.verify:
            return self._verified(environ, start_response)
        return self._answer(environ, start_response, None)

    def _answer(self, environ: dict[str, Any], start_response: StartResponse, seen: list[Any] | None) -> Any:
        app = self.dispatcher.get_application(environ)
        routes = self.routes(app)
        if routes is None or any(signal.receivers for signal in self._signals):
            return app(environ, start_response)
        Response, ClientError, HTTPException = self._response, self._client_error, self._http_exception
        request = app.request_class(environ)
        request.json_module = app.json
        try:
            adapter = app.create_url_adapter(request)
            rule, view_args = adapter.match(return_rule=True)
        except HTTPException:  # not found, a redirect, a method the rule lacks: Flask answers
            return app(environ, start_response)
        callback = routes.callbacks.get(rule.endpoint)
        if callback is None or (rule.provide_automatic_options and request.method == "OPTIONS"):
            return app(environ, start_response)
        request.url_rule, request.view_args = rule, view_args
        try:
            try:
                # convert_to_flask_response.__call__, with the request Flask would have made
                request = self._normalize(request)
                self._recorder._record_request(request)
                if seen is not None:
                    seen.append(callback)
                try:
                    result = callback(request, request.raw_url, dict(request.headers))
                except BaseException as raised:
                    if seen is not None:
                        seen.append(raised)
                    raise
                if seen is not None:
                    seen.append(result)
            except ClientError as exc:
                result = 400, {}, exc.response["Error"]["Message"]
            if len(result) == 3:
                status, headers, content = result
            else:
                status, headers, content = 200, {}, result
            response = Response(response=content, status=status, headers=headers)
            if request.method == "HEAD" and "content-length" in headers:
                response.headers["Content-Length"] = headers["content-length"]
        except Exception as exc:  # noqa: BLE001 - Flask's own handling, in its own context
            return _flask_error(app, environ, request, exc, start_response)
        if routes.after is not None:
            _local.request = request
            try:
                response = routes.after(response)
            except Exception as exc:  # noqa: BLE001 - as Flask: past the view, straight to a 500
                return _flask_error(app, environ, request, exc, start_response, in_view=False)
            finally:
                _local.request = None
        try:
            return response(environ, start_response)
        finally:
            request.close()
            environ["werkzeug.request"] = None

    def _verified(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The thin path's answer, checked against the Flask app's for the same callback result."""
        body = environ["wsgi.input"].read()
        again = dict(environ)
        environ["wsgi.input"], again["wsgi.input"] = io.BytesIO(body), io.BytesIO(body)
        seen: list[Any] = []
        thin = _Captured()
        thin.body = b"".join(self._answer(environ, thin.start_response, seen))
        if len(seen) == 2 and _replayable(seen[1]):
            flask = _Captured()
            _local.replay = seen
            try:
                flask.body = b"".join(self.dispatcher.get_application(again)(again, flask.start_response))
            finally:
                replayed, _local.replay = _local.replay, None
            difference = (
                "the Flask app did not call the same callback"
                if replayed is not None
                else thin.difference(flask)
            )
            if difference:
                message = f"thin path differs from Flask: {difference}".encode()
                print(message.decode(), file=sys.stderr, flush=True)
                start_response("500 INTERNAL SERVER ERROR", [("Content-Length", str(len(message)))])
                return [message]
        start_response(thin.status, thin.headers)
        return [thin.body]


class _Captured:
    status = ""
    headers: list[tuple[str, str]] = []
    body = b""

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status, self.headers = status, headers
        return lambda data: None

    def difference(self, other: _Captured) -> str:
        if self.status != other.status:
            return f"status {self.status!r} != {other.status!r}"
        if self.headers != other.headers:
            return f"headers {self.headers!r} != {other.headers!r}"
        if self.body != other.body:
            return f"body {self.body[:200]!r} != {other.body[:200]!r}"
        return ""


def _replayable(outcome: Any) -> bool:
    """A result both paths can use (a body read once, e.g. a stream, cannot be)."""
    if isinstance(outcome, BaseException):
        return True
    content = outcome[-1] if isinstance(outcome, tuple) and len(outcome) == 3 else outcome
    return isinstance(content, (str, bytes)) or content is None


def _flask_error(
    app: Any,
    environ: dict[str, Any],
    request: Any,
    exc: Exception,
    start: StartResponse,
    *,
    in_view: bool = True,
) -> Any:
    """Flask's ``wsgi_app`` from an exception on, called while ``exc`` is being handled
    (``handle_user_exception`` re-raises it, ``handle_exception`` logs it): one the view raised goes
    to ``full_dispatch_request``'s handling first, one from the after-request hook straight to
    ``handle_exception``."""
    from flask.ctx import RequestContext

    ctx = RequestContext(app, environ, request=request)
    error: BaseException | None = None
    try:
        try:
            ctx.push()
            if not in_view:
                raise exc
            response = app.finalize_request(app.handle_user_exception(exc))
        except Exception as e:  # noqa: BLE001 - as Flask
            error = e
            response = app.handle_exception(e)
        except:  # as Flask
            error = sys.exc_info()[1]
            raise
        return response(environ, start)
    finally:
        if error is not None and app.should_ignore_error(error):
            error = None
        ctx.pop(error)


def _record_callbacks(app: Any) -> None:
    """The Flask app's callbacks answer with a recorded outcome while one is being replayed."""
    from moto.core.utils import convert_to_flask_response

    for view in app.view_functions.values():
        if type(view) is convert_to_flask_response:
            view.callback = _Replaying(view.callback)


class _Replaying:
    def __init__(self, callback: Callable[..., Any]) -> None:
        self.callback = callback
        self.__name__ = getattr(callback, "__name__", "callback")

    def __call__(self, *args: Any) -> Any:
        replay = getattr(_local, "replay", None)
        if replay is None:
            return self.callback(*args)
        _local.replay = None
        callback, outcome = replay
        if callback is not self.callback:
            _local.replay = replay  # not consumed: reported as a difference
            return self.callback(*args)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def _route_cors_request() -> None:
    """flask_cors' hook reads Flask's context-local ``request``; the thin path has no context, so
    the hook's modules get a proxy that is the thin path's request while it runs the hook, and
    Flask's otherwise."""
    import flask
    from flask_cors import core, extension
    from werkzeug.local import LocalProxy

    global _cors_request
    if _cors_request is not None and extension.request is _cors_request:
        return

    def current() -> Any:
        thin = getattr(_local, "request", None)
        return thin if thin is not None else flask.request._get_current_object()  # type: ignore[attr-defined]

    _cors_request = LocalProxy(current)
    extension.request = _cors_request
    core.request = _cors_request


_cors_request: Any = None


def _memoize_backends(dispatcher: Any) -> None:
    """The backend for a host name: moto matched it against every service's URL patterns (a few
    hundred regular expressions) on each request. The patterns do not change; a name that matches
    none is looked up each time (moto prints a warning for it)."""
    lookup = dispatcher.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(host: str | None) -> Any:
        backend = found.get(host)
        if backend is None:
            backend = lookup(host)
            if backend is not None:
                found[host] = backend
        return backend

    dispatcher.get_backend_for_host = get_backend_for_host
