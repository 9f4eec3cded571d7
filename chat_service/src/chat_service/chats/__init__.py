"""Chats and their members."""
