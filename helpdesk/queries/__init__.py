"""Read-only queries bigger than a get: lists, filters and searches."""
