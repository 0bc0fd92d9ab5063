"""orbitstore storages."""
