"""Tortoise models, one module per domain. Imports nothing else of Portico."""
