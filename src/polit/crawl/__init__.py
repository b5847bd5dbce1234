"""Board crawler: poll, diff, deletions, archive, state."""
