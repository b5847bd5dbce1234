# polit: one image for `polit run` (the hourly Cloud Run job) and `polit watch`.
# Build: docker build -t polit .   Run: docker run --rm -v polit-data:/data polit run
FROM python:3.11.7-slim-bookworm AS build
WORKDIR /src
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml README.md ./
COPY src ./src
RUN uv venv --python /usr/local/bin/python3.11 /opt/polit \
    && VIRTUAL_ENV=/opt/polit uv pip install --no-cache .

FROM python:3.11.7-slim-bookworm
RUN useradd --create-home --uid 10001 polit \
    && mkdir -p /data \
    && chown polit:polit /data
COPY --from=build /opt/polit /opt/polit
# dbt writes target/ and logs/ inside the project, so the project belongs to the user
COPY --chown=polit:polit dbt /app/dbt
ENV PATH=/opt/polit/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    POLIT_DBT_PROJECT=/app/dbt \
    POLIT_LAKE=/data/lake \
    POLIT_WAREHOUSE=/data/warehouse.duckdb
WORKDIR /app
USER 10001
VOLUME ["/data"]
# Meaningful for `watch`: its heartbeat must be younger than 15 minutes.
HEALTHCHECK --interval=5m --timeout=30s --start-period=10m \
    CMD ["polit", "status", "--max-age", "900"]
ENTRYPOINT ["polit"]
CMD ["watch"]
