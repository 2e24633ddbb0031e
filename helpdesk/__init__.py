"""The helpdesk domain: models, services, policy, storage and settings."""
