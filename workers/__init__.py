"""Entry points for the worker and smtp processes (durable jobs, mail ingress); they call the domain."""
