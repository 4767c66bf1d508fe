# Worker image: the r3edge_streams package and its pinned dependencies.
FROM python:3.11-slim
WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY r3edge_streams ./r3edge_streams
RUN pip install --no-cache-dir . && useradd --create-home r3edge && mkdir -p /var/lib/r3edge && chown r3edge /var/lib/r3edge
USER r3edge
EXPOSE 6066
CMD ["faust", "-A", "r3edge_streams", "worker", "-l", "info"]
