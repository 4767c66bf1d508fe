"""The pure core: business rules as plain functions over records. No faust, ccxt, aiohttp, clock."""
