"""Samsyn: forum and shared inbox in one live workspace."""
