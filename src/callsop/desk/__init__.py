"""The desk: the web app clerks and managers use (Django, server-rendered, HTMX)."""
