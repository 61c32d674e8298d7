"""Test doubles; ``tests.fakes.discord`` is the in-process fake Discord."""
