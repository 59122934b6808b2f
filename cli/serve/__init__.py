"""`nnfun serve`: the command, the JSON API behind the page, and the page itself (`static/`)."""
