"""Developer tools: local infrastructure, process supervisor, demo and sample-data generator.

Nothing here is imported by the core (``shared``) or the services; production images leave it out.
"""
