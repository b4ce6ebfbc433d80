"""HTTP surface: request handlers grouped by screen, thin over the domain."""
