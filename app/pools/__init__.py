"""Node pools (Enterprise): keep N nodes of one GPU running across providers, at the cheapest offers.

- ``spec.py``: what a pool asks for, checked (bad input: a 400 naming the field);
- ``service.py``: create, read, scale and delete a pool in the caller's workspace (pages, API, CLI);
- ``offers.py``: the compatible offers a pool may launch on, cheapest first;
- ``reconcile.py``: one pass that brings a pool to its target through the console's launch path;
- ``jobs.py``: that pass as a task (one per pool), and the periodic fan-out;
- ``api.py``: ``/api/v1/pools``.
"""
