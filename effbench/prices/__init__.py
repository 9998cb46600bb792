"""Price tables shipped with effbench (package data): USD per million tokens, each row with its source and date."""
