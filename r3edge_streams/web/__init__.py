"""Web views served by every worker (Faust web on aiohttp): JSON in, JSON out."""
