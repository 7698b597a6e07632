"""Qt widgets of the plugin: the video dock, the frame view, the settings dialog."""
