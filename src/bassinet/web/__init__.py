"""The web application: pages, the JSON API under ``/api/v1``, and report jobs."""
