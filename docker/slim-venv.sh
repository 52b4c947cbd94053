#!/bin/sh
# Slims /opt/venv once everything is installed, in the build stages of the Dockerfile: what goes
# here never runs in the image. Third-party code stays as bytecode alone; the project's own package
# keeps its sources, so that its tracebacks show the lines.
set -eu
venv=/opt/venv
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

"$venv/bin/pip" check
# Nothing installs at run time.
"$venv/bin/pip" uninstall -y -q pip setuptools wheel

# Test suites, type stubs, C headers and static libraries, tools that build other packages (f2py,
# distutils), duckdb's Spark API and pydantic's v1 layer: nothing in the pipeline or luigid uses them.
find "$site" -depth -type d -name tests -path '*/site-packages/*/tests' -exec rm -rf {} +
find "$site" -name '*.pyi' -delete
rm -rf "$site/_duckdb-stubs" "$site/numpy/f2py" "$site/numpy/distutils" "$site/numpy/_core/include" \
       "$site/numpy/_core/lib" "$site/duckdb/experimental" "$site/pydantic/v1"
# The AWS models of services the pipeline never calls.
if [ -d "$site/botocore" ]; then
    find "$site/botocore/data" -mindepth 1 -maxdepth 1 -type d \
         ! -name s3 ! -name sts ! -name sso ! -name sso-oidc ! -name signin -exec rm -rf {} +
    find "$site/boto3/data" -mindepth 1 -maxdepth 1 -type d ! -name s3 -exec rm -rf {} +
fi

# Bytecode compiled now, nothing to write at start on a read-only root. Third-party modules become
# sourceless .pyc files beside where their .py was, without the column tables that only point at
# source lines (-X no_debug_ranges). The project's package keeps its .py, with unchecked-hash
# bytecode: valid whatever the file times after COPY.
find "$venv" -depth -name __pycache__ -type d -exec rm -rf {} +
PYTHONNODEBUGRANGES=1 "$venv/bin/python" -m compileall -q -b -j 0 -x '/site-packages/bottleneck/' "$site"
find "$site" -name '*.py' ! -path "$site/bottleneck/*" -delete
"$venv/bin/python" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$site"
