"""The Flask application: portal, console, admin and the JSON API."""

from web.app import create_app

__all__ = ["create_app"]
