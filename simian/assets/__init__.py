"""Asset references, the built-in catalogue, the remote sources and their licences (no bpy)."""
