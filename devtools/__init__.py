"""Developer tooling: local PostgreSQL/Redis servers and the `make run` orchestrator."""
