# Two slim, non-root images, each a virtual environment in /opt/venv with its pinned dependencies
# and nothing else; both run on a read-only root filesystem and write only to /tmp.
#   the monthly report pipeline (the last stage, the default):
#     docker build -t bottleneck .          (or: podman build --build-arg BASE=... -t bottleneck .)
#     docker run --rm --read-only --tmpfs /tmp -e BOTTLENECK_LAKE=s3://bucket/prefix \
#       -v $PWD/luigi.cfg:/etc/bottleneck/luigi.cfg:ro -e LUIGI_CONFIG_PATH=/etc/bottleneck/luigi.cfg bottleneck
#   ([smtp] and [email] in that luigi.cfg: the image sends its emails, [bottleneck] delivery = smtp)
#   luigid, the central scheduler, with its task history and metrics (no pandas, duckdb, boto3):
#     docker build --target scheduler -t bottleneck-luigid .
ARG BASE=python:3.12-slim

# ---- build: resolve and install into a virtual environment, then remove what never runs ----
FROM ${BASE} AS build-base
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A venv rather than the base's site-packages: the same COPY works whatever path the base uses.
RUN python -m venv /opt/venv
# The exact versions of every dependency.
COPY requirements/constraints.txt ./

# numpy without BLAS or LAPACK: the wheel's OpenBLAS is 28 MB of the image, and the pipeline multiplies
# no matrices. Built once per numpy version (the pin in constraints.txt), in a stage of its own; the
# compilers stay here. Python's headers come with the official python images, from Debian otherwise.
FROM build-base AS numpy
# hadolint ignore=DL3008
RUN include=$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])') \
 && apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends gcc g++ \
 && { [ -f "$include/Python.h" ] || apt-get install -y -qq --no-install-recommends python3-dev; } \
 && rm -rf /var/lib/apt/lists/*
# pip 23.1 or later: an older one keeps only the last of repeated --config-settings keys.
RUN /opt/venv/bin/pip install -q 'pip>=23.1' \
 && /opt/venv/bin/pip wheel --no-deps --no-binary numpy -w /wheels "$(grep -i '^numpy==' constraints.txt)" \
      --config-settings=setup-args=-Dblas=none --config-settings=setup-args=-Dlapack=none

# luigid's venv: the requirements of the extra `scheduler` alone (luigi, SQLAlchemy for the task
# history, prometheus_client for /metrics).
FROM build-base AS build-scheduler
COPY setup.cfg docker/slim-venv.sh ./
RUN python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); print(c['options.extras_require']['scheduler'])" > requirements.txt \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt \
 && sh slim-venv.sh

# The pipeline's venv: the package and its install_requires, no scheduler extra.
FROM build-base AS build
COPY --from=numpy /wheels /wheels
# Dependencies before the code, read from the package's own metadata, so that a code change
# rebuilds only the last layers.
COPY pyproject.toml setup.cfg ./
RUN python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); print(c['options']['install_requires'])" > requirements.txt \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt /wheels/numpy-*.whl
# README.md is the long description; the lone setup.cfg keeps the wildcard valid while it is absent.
COPY setup.cfg README.md* docker/slim-venv.sh ./
COPY bottleneck ./bottleneck
RUN /opt/venv/bin/pip install --no-deps -c constraints.txt . \
 && sh slim-venv.sh

# ---- runtime: the base, one unprivileged user and a venv ----
FROM ${BASE} AS runtime
LABEL org.opencontainers.image.licenses="MIT"
# A named user, so that tools asking for a user name find one; the number is what Kubernetes checks.
RUN groupadd --gid 10001 bottleneck \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin bottleneck
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001

FROM runtime AS scheduler
LABEL org.opencontainers.image.title="bottleneck-luigid" \
      org.opencontainers.image.description="BottleNeck's Luigi central scheduler (luigid), task history and metrics"
COPY --from=build-scheduler /opt/venv /opt/venv
EXPOSE 8082
# State in /tmp unless a volume and --state-path say otherwise (the chart and k8s/ do).
CMD ["luigid", "--port", "8082", "--state-path", "/tmp/luigi-state.pickle"]

FROM runtime AS pipeline
LABEL org.opencontainers.image.title="bottleneck" \
      org.opencontainers.image.description="BottleNeck monthly wine reports (Luigi pipeline)"
COPY --from=build /opt/venv /opt/venv
# [bottleneck] delivery = smtp: the image sends its reports, or refuses to start (exit 10).
COPY docker/luigi.cfg /etc/luigi/luigi.cfg
# The current month, in [bottleneck] timezone; the lake and mail come from luigi.cfg and the env.
CMD ["bottleneck-run", "RunMonth"]
