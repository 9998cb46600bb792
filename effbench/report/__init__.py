"""What people read: terminal tables, plots (matplotlib) and the static site (jinja2 templates)."""
