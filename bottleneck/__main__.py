"""`python -m bottleneck RunMonth --month YYYY-MM`: the same as `bottleneck-run`."""

from bottleneck.cli import main

main()
