# polit: one image for `polit run` (the hourly Cloud Run job), `polit watch`, the dashboard
# and the Mage UI (/opt/mage-venv/bin/mage start /app/mage: see docker-compose.yml).
# Build: docker build -t polit .   Run: docker run --rm -v polit-data:/data polit run
# Every package comes from a lock with the hashes of its files (requirements.lock, written by
# `make lock`): pip installs uv from the lock's own entry for it, and uv refuses any file whose
# hash is not in the lock.
FROM python:3.11.7-slim-bookworm AS uv
COPY requirements.lock /tmp/requirements.lock
RUN awk '/^[^ ]/ {p = /^uv==/} p && !/#/' /tmp/requirements.lock > /tmp/uv-requirement.txt \
    && pip install --no-cache-dir --no-deps --require-hashes -r /tmp/uv-requirement.txt

# polit's own dependencies only: the lock's versions and hashes, as constraints, keep the dev
# extra out. polit is built by the locked hatchling.
FROM uv AS build
WORKDIR /src
COPY pyproject.toml README.md ./
RUN uv venv --python /usr/local/bin/python3.11 /opt/polit \
    && VIRTUAL_ENV=/opt/polit uv pip install --no-cache --compile-bytecode --require-hashes \
        -r pyproject.toml -c /tmp/requirements.lock
COPY src ./src
RUN VIRTUAL_ENV=/opt/polit uv pip install --no-cache --compile-bytecode --no-deps --strict \
        --build-constraints /tmp/requirements.lock --require-build-hashes .

# Mage pins versions dbt cannot share (click<8.2, pandas<3), so it gets its own virtualenv;
# its blocks run polit's executable (POLIT_BIN) and never import polit.
FROM uv AS mage
COPY mage/requirements.lock /tmp/mage-requirements.lock
RUN uv venv --python /usr/local/bin/python3.11 /opt/mage-venv \
    && VIRTUAL_ENV=/opt/mage-venv uv pip sync --no-cache --compile-bytecode --require-hashes \
        /tmp/mage-requirements.lock

FROM python:3.11.7-slim-bookworm
RUN useradd --create-home --uid 10001 polit \
    && mkdir -p /data \
    && chown polit:polit /data
COPY --from=build /opt/polit /opt/polit
COPY --from=mage /opt/mage-venv /opt/mage-venv
# dbt writes target/ and logs/ inside the project, and the Mage UI edits its project, so
# both belong to the user
COPY --chown=polit:polit dbt /app/dbt
COPY --chown=polit:polit mage /app/mage
ENV PATH=/opt/polit/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    POLIT_DBT_PROJECT=/app/dbt \
    POLIT_LAKE=/data/lake \
    POLIT_WAREHOUSE=/data/warehouse.duckdb \
    POLIT_BIN=/opt/polit/bin/polit \
    MAGE_DATA_DIR=/data/mage
WORKDIR /app
USER 10001
VOLUME ["/data"]
# Meaningful for `watch`: its heartbeat must be younger than 15 minutes (docker-compose.yml
# gives the dashboard and Mage services their own checks).
HEALTHCHECK --interval=5m --timeout=30s --start-period=10m \
    CMD ["polit", "status", "--max-age", "900"]
ENTRYPOINT ["polit"]
CMD ["watch"]
