"""The run folder on disk, and stored runs and sweeps read back."""
