"""Per-frame camera models, terrain and geodesy: pixels to ground and back in float64 local metres."""
