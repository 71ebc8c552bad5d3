# newsflow services image: one image for the worker, the fetcher and the topic init job.
# The entry point is the `newsflow` command line; the command picks the role:
#   docker run newsflow:local worker      docker run newsflow:local topics      ...
#
# Layers: the runtime dependencies (read from pyproject.toml) are installed before the code is
# copied, so editing the code rebuilds only the last, small layers. No dev/test dependencies.
# Built and run by docker-compose.yml; see docs/docker.md.

FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# An unprivileged user, and a writable state directory for it (NEWSFLOW_HOME).
RUN groupadd --system --gid 10001 newsflow \
 && useradd --system --uid 10001 --gid newsflow --home-dir /home/newsflow --create-home \
      --shell /usr/sbin/nologin newsflow \
 && install -d -o newsflow -g newsflow -m 0750 /var/lib/newsflow

WORKDIR /app

# 1. Dependency layer: only pyproject.toml. The pinned [project.dependencies] and the build
#    backend ([build-system.requires]) are read with tomllib and installed; optional extras
#    (test, train) are not. Cached until pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); print('\n'.join(p['build-system']['requires'] + p['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# 2. Code layer. Installed in place (editable, no dependencies) so that the `newsflow` script
#    exists and services/ finds schemas/ and ops/topics.yaml next to it, as in a checkout.
COPY . .
RUN pip install --no-deps --no-build-isolation --editable . \
 && python -m compileall -q services

ENV NEWSFLOW_HOME=/var/lib/newsflow \
    NEWSFLOW_KAFKA=kafka:9092 \
    NEWSFLOW_WEB_PORT=6066

USER 10001:10001

# The worker's /metrics, /health and /ready.
EXPOSE 6066

ENTRYPOINT ["newsflow"]
CMD ["worker", "--loglevel", "info"]
