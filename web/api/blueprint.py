"""The one `Api` every endpoint module of /api/v1 declares its endpoints on."""

from __future__ import annotations

from web.api.core import Api

PREFIX = "/api/v1"
VERSION = "1.0.0"

api = Api("api", PREFIX)
