"""The WSGI entry point for gunicorn: ``gunicorn server.wsgi:app``."""

import gc

from server import create_app

app = create_app()
# What start-up made lives as long as the worker: frozen, it is left out of
# the garbage collector's full passes, which would otherwise walk all of it
# again and again while requests run (about 5% of a push's time).
gc.freeze()
