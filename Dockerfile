# monitor, the daemon, in a container: see README "Deployment with the container".
#   docker build -t monitor:0.1.0 .
#   docker run -d --name monitor -v monitor-data:/data \
#     -v "$PWD/config.toml:/config/config.toml:ro" -v "$PWD/rules:/config/rules:ro" \
#     -e SLACK_BOT_TOKEN monitor:0.1.0
# tests/test_container.py lints this file with hadolint and replays its install steps and CMD.

# --- build: a virtualenv holding the project and the exact versions pinned in pyproject.toml ---
FROM python:3.11.14-slim-bookworm AS build
ENV VIRTUAL_ENV=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv "$VIRTUAL_ENV"
COPY pyproject.toml README.md ./
COPY monitor ./monitor
# Bytecode is compiled here: the runtime never writes it (PYTHONDONTWRITEBYTECODE, a read-only
# venv), so without it every process (the daemon, each HEALTHCHECK) would compile every module.
RUN "$VIRTUAL_ENV/bin/pip" install --no-cache-dir . && "$VIRTUAL_ENV/bin/pip" check

# --- runtime: no compilers, no pip cache, no root ----------------------------------------------
FROM python:3.11.14-slim-bookworm
# tini as PID 1 forwards SIGTERM to `monitor run` and reaps zombies; monitor's own SIGTERM handler
# then lets the running jobs finish and closes the database.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 monitor \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin monitor \
    && mkdir -p /data /config \
    && chown 10001:10001 /data \
    && ln -s /data /config/data
COPY --from=build /opt/venv /opt/venv
# /config/data -> /data: a config.toml with the default `database = "data/monitor.db"` (relative
# to the config file) keeps its database in the /data volume.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MONITOR_CONFIG=/config/config.toml
WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8787
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["monitor", "health"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["monitor", "run"]
