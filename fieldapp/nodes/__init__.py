"""Field nodes: identity of this installation, and (on central) the registered nodes."""
