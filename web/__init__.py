"""The Flask application: portal, console, admin and the JSON API."""
