"""Item generators with answers checkable by construction (difficulty set by parameters)."""
