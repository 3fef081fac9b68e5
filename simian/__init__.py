"""Simian: render scene recipes into captioned videos and publish them as datasets.

The package root stays import-light on purpose: importing it never imports bpy, Prefect or Redis.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
