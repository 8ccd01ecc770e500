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
RUN pip install . && useradd --system --uid 10001 batchline
USER batchline
ENTRYPOINT ["batchline"]
