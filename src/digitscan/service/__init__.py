"""The service: a FastAPI app (``app``) with the HTTP API and the page at ``/`` (``static/``).

A thin layer over ``reading``: it imports nothing from ``training`` or ``report``.
"""
