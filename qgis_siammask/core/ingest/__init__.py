"""Reading video and telemetry (MPEG-TS/MP4 with MISB ST 0601 KLV, DJI SRT, CSV) on one timeline."""
