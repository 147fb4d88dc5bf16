"""Helpers that lessons' test cells import: checks too long for a notebook cell, each with its own test."""
