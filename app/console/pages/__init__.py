"""Console page handlers (login required); each module registers itself in app/console/routes.py."""
