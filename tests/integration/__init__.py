"""Integration tests: run against real servers (S3 endpoint, PostgreSQL, chain node, ffmpeg)."""
