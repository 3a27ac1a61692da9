"""Whole-response caches for the public price reads (JSON API and pages), in memory or in Redis."""
