"""Reading and writing files that are not in the unified format: official submissions, archives."""
