"""Neural network architectures, one module per architecture (timm style)."""
