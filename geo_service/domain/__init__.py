"""Kinds of feature, their typed attributes and their status lifecycles."""
