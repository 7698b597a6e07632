"""Tracks to ground features and the GeoPackage they are kept in."""
