"""Conversations per company: the (company, session id) key and finding one from /memory."""
