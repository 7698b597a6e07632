from PyQt6.QtWidgets import *  # noqa: F401,F403
