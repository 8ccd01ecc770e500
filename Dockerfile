# One image for every batchline process; docker-compose.yml picks the command per service.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md alembic.ini ./
COPY shared ./shared
COPY services ./services
COPY migrations ./migrations
COPY data ./data
RUN pip install .
ENTRYPOINT ["batchline"]
