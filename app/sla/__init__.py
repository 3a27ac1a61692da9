"""SLA monitoring: uptime arithmetic (``uptime``, ``rolling``) kept apart from the DB loaders (``loaders``)."""
