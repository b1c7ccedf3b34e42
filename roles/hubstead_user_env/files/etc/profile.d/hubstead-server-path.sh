# Installed by Hubstead (roles/hubstead_user_env). JupyterLab's terminals run login
# shells, and Debian's /etc/profile sets PATH afresh, which would hide the server's
# environment (python, pip, what postBuild installed). A user's server exports its own
# PATH as HUBSTEAD_SERVER_PATH; login shells inside it get that PATH back.
if [ -n "${HUBSTEAD_SERVER_PATH:-}" ]; then
    PATH=$HUBSTEAD_SERVER_PATH
    export PATH
fi
