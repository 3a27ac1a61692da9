"""Auto-repair (Pro): health checks of instances that have it on, and repairs with backoff.

- ``endpoint``: the user's health endpoint: parsing and the SSRF gate (``vet_url``);
- ``addresses``: which IP addresses are public enough to connect to;
- ``probe``: the network check of a vetted endpoint (a simulated provider answers instead);
- ``checks``: one check of one instance (provider state + endpoint) and its verdict;
- ``policy``: the backoff schedule and which repair step fits which failure;
- ``engine``: check and repair one instance under a claim on its row;
- ``jobs``: the scheduled cycle over every instance with auto-repair on;
- ``configure``/``views``/``pages``: the "Auto-repair" section of the instance page.
"""
