"""Training recipes, one module per learned detector; each registers itself on import."""
