# `helm test`: the image, its package and the configuration the CronJob would run with, checked
# from inside the same pod spec. Exits non-zero on the first thing that is wrong.
import os
import subprocess
import sys
import urllib.request

import bottleneck
import luigi.configuration
from bottleneck import config

print(f"bottleneck {bottleneck.__version__} imports; python {sys.version.split()[0]}; uid {os.getuid()}")
help_run = subprocess.run(["bottleneck-run", "--help"], capture_output=True, text=True, timeout=120)
if help_run.returncode != 0:
    sys.exit(f"bottleneck-run --help failed ({help_run.returncode}): {help_run.stderr[-2000:]}")
print("bottleneck-run --help works")
cfg = luigi.configuration.get_config()
print(f"LUIGI_CONFIG_PATH={os.environ.get('LUIGI_CONFIG_PATH')}")
print(f"effective lake: {config.lake_url()}")
print(f"current month: {config.current_month():%Y-%m}")
print(f"smtp host: {cfg.get('smtp', 'host', '') or '(none: emails written as .eml)'}")
print(f"report receivers: {cfg.get('email', 'receiver', '')}")
print(f"alert receivers: {cfg.get('bottleneck', 'alert_receivers', '')}")
host = cfg.get("core", "scheduler_host", "")
if host and not cfg.getboolean("core", "local_scheduler", False):
    url = f"http://{host}:{cfg.get('core', 'scheduler_port', '8082')}/static/visualiser/index.html"
    with urllib.request.urlopen(url, timeout=10) as response:
        print(f"central scheduler answers: {url} ({response.status})")
else:
    print("central scheduler: none (local scheduler)")
