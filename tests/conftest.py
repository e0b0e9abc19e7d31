"""Make the repository root importable when tests run from a checkout."""
