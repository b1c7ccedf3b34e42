"""`python -m hubstead.limits.probe`: what the install must do for disk quotas, as
JSON (hubstead.limits.quota.install_needs), for the hubstead_quota role."""

import json

from .quota import install_needs

if __name__ == "__main__":
    print(json.dumps(install_needs()))
