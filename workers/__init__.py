"""Background work: Dramatiq broker, actors and the outbox dispatcher."""
