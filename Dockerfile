# monitor, the daemon, in a container: see docs/container.md.
#   docker build -t monitor:0.1.0 .
#   docker build -t monitor:0.1.0-postgres --build-arg EXTRAS=postgres .   # with the PostgreSQL driver
#   docker run -d --name monitor -v monitor-data:/data \
#     -v "$PWD/config.toml:/config/config.toml:ro" -v "$PWD/rules:/config/rules:ro" \
#     -e SLACK_BOT_TOKEN monitor:0.1.0
# .ci/container-check builds this file and runs the image; tests/test_container.py lints it and
# replays its install steps and CMD without Docker.

# The official image, by tag and by the digest of its multi-platform index, as docker-library's
# repo-info recorded it (repos/python/remote/3.11.16-slim-bookworm.md): a rebuilt tag cannot
# change what is built. To move on, take the new digest from `docker buildx imagetools inspect`.
ARG PYTHON_IMAGE=python:3.11.16-slim-bookworm@sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f

# --- build: a virtualenv with the locked dependencies and the project, then without pip ---------
FROM ${PYTHON_IMAGE} AS build
# Which lock to install: requirements/runtime.lock by default, requirements/postgres.lock with
# EXTRAS=postgres (the psycopg driver and pool, for a postgresql:// database).
ARG EXTRAS=""
ENV VIRTUAL_ENV=/opt/venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Every package at the version and with the file hashes of the lock, and nothing else: pip refuses
# a file whose hash differs. A layer of its own, kept while only the code changes.
COPY requirements/*.lock ./requirements/
RUN python -m venv "$VIRTUAL_ENV" \
    && "$VIRTUAL_ENV/bin/pip" install --require-hashes --no-deps -r "requirements/${EXTRAS:-runtime}.lock"
COPY pyproject.toml README.md ./
COPY monitor ./monitor
# The project on top (--no-deps: the lock brought them; `pip check` fails the build if the lock no
# longer satisfies pyproject.toml), then pip and setuptools leave: nothing installs at runtime.
# (sqlite-utils declares pip for its own `sqlite-utils install` command, which monitor never runs.)
# Bytecode is compiled here: the runtime never writes it (PYTHONDONTWRITEBYTECODE, a read-only
# venv), so without it every process (the daemon, `monitor status`) would compile every module.
RUN "$VIRTUAL_ENV/bin/pip" install --no-deps . \
    && "$VIRTUAL_ENV/bin/pip" check \
    && "$VIRTUAL_ENV/bin/python" -m pip uninstall --yes --quiet pip setuptools

# --- runtime: no compilers, no pip, no root -------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
ARG REVISION=""
LABEL org.opencontainers.image.title="monitor" \
      org.opencontainers.image.description="Event-driven news monitor: RSS/Atom feeds -> rules -> one Slack alert per story, and a daily digest" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
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
# The probe asks /healthz as `monitor health` does, with the standard library only: ~20 ms a run
# where `monitor health` loads the application (~140 ms, every 30 s). -I: no PYTHON* variables and
# no current directory (/data) on the import path.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-I", "-m", "monitor.healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["monitor", "run"]
