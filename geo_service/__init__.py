"""geo-service: a geospatial service for mining sites, titles, tailings and abandoned mines."""

__version__ = "0.1.0"
