"""Tasks: YAML definitions into `TaskSpec`s, their datasets as `Sample`s, and their prompts."""
