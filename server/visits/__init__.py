"""Visits. Importing the package registers what keeps each household's
latest visit true whenever visits are written (``server.visits.services``)."""

from server.visits import services  # noqa: F401
