"""Exchange adapters behind two ports: market data (:class:`.market_data.MarketData`: ccxt,
replay files) and trading (:class:`.trading.Trading`: the paper venue, ccxt), with one set of
errors (:mod:`.errors`)."""
