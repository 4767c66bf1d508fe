"""Exchange adapters behind one port (:class:`.base.ExchangeClient`): live ccxt, replay files."""
