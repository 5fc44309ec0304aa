"""Photos of visits, issues and follow-ups (issue 17): their records, and
their bytes, uploaded resumably and stored once per content hash."""
