"""The shared inbox: mail in, parsed, threaded into cases."""
