"""Numbered schema revisions; each file is one step and is never edited once released."""
