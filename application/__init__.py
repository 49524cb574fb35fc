"""The application layer: the one pipeline, run folders in use, the CLI root, background work.

It sits above the domain packages (portfolio, personas, explain, strategy) and is what the CLI
and the app call; no domain package imports it.
"""
