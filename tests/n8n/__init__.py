"""Tests of today's n8n flows (issue 13): the flat body, modalidad, company keys, the deadline."""
