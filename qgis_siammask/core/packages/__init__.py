"""The plugin's Python packages: what it needs, and installing them into its own folder (pure Python)."""
