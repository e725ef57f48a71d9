"""Readers: capture and flow files -> normalised records. They know no database and no reports."""
