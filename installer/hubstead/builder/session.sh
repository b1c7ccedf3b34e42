#!/bin/sh
# The first command of a server launched from a Binder build, run as the learner in
# their server's unit (HubsteadSpawner puts it in front):
#
#     sh session.sh SKELETON REPO_DIR COMMAND...
#
# copies what the build's postBuild left in its $HOME (SKELETON, root-owned, read-only)
# into the learner's home without replacing anything already there, sets what
# repo2docker's images set (REPO_DIR; ~/.local/bin and $REPO_DIR/.local/bin first on
# PATH) and runs COMMAND (the repository's start script, if any, then the server).
set -u
skeleton=$1
REPO_DIR=$2
shift 2
if [ -d "$skeleton" ]; then
    # The learner's own files win; a second launch adds only what is missing. coreutils
    # 9.3 spells this --update=none (its -n reports every skipped file as a failure).
    keep=-n
    if cp --help 2>/dev/null | grep -q -- '--update\[=UPDATE\]'; then keep=--update=none; fi
    # Errors (a file the build left unreadable) must not keep the server from starting.
    cp -R "$keep" -- "$skeleton/." "$HOME/" 2>/dev/null \
        || echo "hubstead: some files of the build's home were not copied into $HOME" >&2
fi
PATH="$HOME/.local/bin:$REPO_DIR/.local/bin:$PATH"
HUBSTEAD_SERVER_PATH=$PATH  # what terminals' login shells restore (/etc/profile.d)
export REPO_DIR PATH HUBSTEAD_SERVER_PATH
exec "$@"
