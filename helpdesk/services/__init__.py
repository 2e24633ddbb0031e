"""Service functions: the only code that changes data (ARCHITECTURE rule 1)."""
