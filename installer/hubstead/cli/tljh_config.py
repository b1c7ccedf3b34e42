"""`tljh-config`: TLJH's command, kept for the scripts and instructions that use it.

It is `hubstead config` under TLJH's name: the same verbs (show, set, unset, add-item,
remove-item, reload [hub|proxy]), keys and value forms, on /etc/hubstead/config.yaml.
"""

import sys


def main(argv=None):
    from . import run
    from .config import config_group

    sys.exit(run(argv, command=config_group, prog_name="tljh-config"))
