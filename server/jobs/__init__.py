"""Background jobs: long work (a county's ledger, a town's cards) done by a worker,
never inside a request, with its progress and its file kept in the database."""
