"""Invite links: the owner makes one, whoever holds it joins."""
