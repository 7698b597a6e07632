"""The Processing provider: the engine's tracking job as an algorithm for batch mode and models."""
