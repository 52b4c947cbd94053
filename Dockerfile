# The monthly report pipeline as a slim, non-root image: the package and its pinned dependencies in
# /opt/venv, nothing else. Runs on a read-only root filesystem; writes only to /tmp.
#   docker build -t bottleneck .          (or: podman build --build-arg BASE=... -t bottleneck .)
#   docker run --rm --read-only --tmpfs /tmp -e BOTTLENECK_LAKE=s3://bucket/prefix bottleneck
ARG BASE=python:3.12-slim

# ---- build: resolve and install into a virtual environment, then strip what never runs ----
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A venv rather than the base's site-packages: the same COPY works whatever path the base uses.
RUN python -m venv /opt/venv
# Dependencies before the code, read from the package's own metadata, so that a code change
# rebuilds only the last layers. The exact versions come from the constraints file.
COPY pyproject.toml setup.cfg requirements/constraints.txt ./
RUN python -c "import configparser; c = configparser.ConfigParser(); c.read('setup.cfg'); print(c['options']['install_requires']); print(c['options.extras_require']['scheduler'])" > requirements.txt \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt
# README.md is the long description; the lone setup.cfg keeps the wildcard valid while it is absent.
COPY setup.cfg README.md* ./
COPY bottleneck ./bottleneck
# The scheduler extra (prometheus_client, SQLAlchemy) lets the same image run luigid with its
# metrics and task history. Then: test suites, type stubs and the AWS models of services the
# pipeline never calls go; pip itself goes, since nothing installs at run time. Bytecode is
# compiled as unchecked-hash: valid whatever the file times after COPY, nothing to write at start.
RUN /opt/venv/bin/pip install -c constraints.txt '.[scheduler]' \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/pip uninstall -y -q pip setuptools wheel \
 && site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && find "$site" -depth -type d -name tests -path '*/site-packages/*/tests' -exec rm -rf {} + \
 && find "$site" -name '*.pyi' -delete \
 && rm -rf "$site"/_duckdb-stubs \
 && find "$site/botocore/data" -mindepth 1 -maxdepth 1 -type d \
      ! -name s3 ! -name sts ! -name sso ! -name sso-oidc ! -name signin -exec rm -rf {} + \
 && find "$site/boto3/data" -mindepth 1 -maxdepth 1 -type d ! -name s3 -exec rm -rf {} + \
 && find /opt/venv -depth -name __pycache__ -type d -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

# ---- runtime: the base, one unprivileged user and the venv ----
FROM ${BASE}
LABEL org.opencontainers.image.title="bottleneck" \
      org.opencontainers.image.description="BottleNeck monthly wine reports (Luigi pipeline)" \
      org.opencontainers.image.licenses="MIT"
# A named user, so that tools asking for a user name find one; the number is what Kubernetes checks.
RUN groupadd --gid 10001 bottleneck \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin bottleneck
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001
# The current month, in [bottleneck] timezone; the lake and mail come from luigi.cfg and the env.
CMD ["bottleneck-run", "RunMonth"]
