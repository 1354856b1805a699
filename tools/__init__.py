"""Maintenance scripts run by hand, outside CI."""
