"""`nnfun sweep`: the command, its plan (pure), the trial runners (local, Dask) and the summary."""
