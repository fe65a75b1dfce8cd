"""Readers, writers and validation: files in, canonical tables out."""
