"""The inbound pipeline's steps: small pure functions from one InboundMessage to the next."""
