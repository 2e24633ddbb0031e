"""Endpoint modules of /api/v1: each declares its endpoints on `web.api.blueprint.api`."""
