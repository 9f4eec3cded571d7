"""Profiles: the caller's own, and looking other people up."""
