"""Reports of a backtest, for a trader to read.

In: a backtest's outcome. Out: its report as JSON-able data (``build``: its settings, the
metrics of ``domain.metrics.metrics_json``, its trades, equity curve, candles and data gaps)
and that report as one self-contained HTML page (``html.render_html``: no network needed to view it).
"""
