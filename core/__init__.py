"""Shared basics below every package: user errors, the workspace folder, file hashing."""
