"""`python -m bottleneck.admin`: the same as `bottleneck-admin`."""

from bottleneck.admin import main

main()
