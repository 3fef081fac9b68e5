"""Recipes in bulk: drawn from a seed, camera variants, read from files in either format."""
