"""The user's own account settings (profile: name and time zone)."""
