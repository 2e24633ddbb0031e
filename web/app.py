"""The Flask app factory: settings, database and blueprints wired together once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from helpdesk.db import SessionFactory, make_engine, make_session_factory
from helpdesk.resources import resource_dir
from helpdesk.settings import Settings
from helpdesk.storage import BlobStore, open_blob_store
from web import errors, security
from web.converters import BoundedInt

EXTENSION = "helpdesk"


@dataclass(frozen=True)
class AppState:
    """What every view may need, built once per app."""

    settings: Settings
    engine: Engine
    session_factory: SessionFactory

    @cached_property
    def blob_store(self) -> BlobStore:
        """The attachment store, opened on first use."""
        return open_blob_store(self.settings)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web application; settings default to the environment's."""
    settings = settings or Settings.from_env()
    app = Flask(__name__.split(".")[0], template_folder=str(resource_dir("templates")))
    app.url_map.converters["int"] = BoundedInt
    _configure(app, settings)
    engine = make_engine(settings.database_url)
    app.extensions[EXTENSION] = AppState(settings, engine, make_session_factory(engine))
    app.teardown_appcontext(_close_session)
    security.install(app, settings)
    errors.install(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # Imported here: the blueprints import this module for `app_state`.
    from web import api
    from web.health import health
    from web.inbound import inbound

    app.register_blueprint(health)
    app.register_blueprint(inbound)
    api.install(app, app_state(app).settings)


def _configure(app: Flask, settings: Settings) -> None:
    secure = settings.base_url.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_message_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PREFERRED_URL_SCHEME="https" if secure else "http",
    )


def app_state(app: Flask | None = None) -> AppState:
    """Return the state `create_app` stored on the (current) app."""
    state: AppState = (app or current_app).extensions[EXTENSION]
    return state


def request_session() -> Session:
    """Return this request's database session, opening it on first use.

    The view commits when its service call succeeded; whatever is left
    uncommitted is rolled back when the request ends.
    """
    if "db_session" not in g:
        g.db_session = app_state().session_factory()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
