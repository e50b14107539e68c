# syntax=docker/dockerfile:1
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG=/app/config/monitor.yaml \
    MONITOR_DATABASE=/data/monitor.db \
    MONITOR_FEEDS_FILE=/data/feeds.yaml \
    MONITOR_METRICS__LISTEN=0.0.0.0:9464 \
    MONITOR_RULES=/app/rules

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /app monitor \
    && mkdir -p /data \
    && chown monitor /data
COPY --chown=monitor config ./config
COPY --chown=monitor rules ./rules
COPY --chown=monitor examples ./examples

USER 10001
VOLUME ["/data"]
EXPOSE 9464
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["monitor", "health"]
CMD ["monitor", "run"]
